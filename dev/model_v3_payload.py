# usage: /usr/bin/python3 dev/model_v3_payload.py OLD_V2.mcrg NEW_V3.mcrg
# Compare a v3 model file's content with a v2 file's: strip the section framing of the v3
# payload (adding v2's u32 training-state flag) and compare with the v2 payload.
import struct, sys, zlib
def payload(path):
    b = open(path, 'rb').read()
    assert b[:8] == b'MCRGMODL'
    ver, flags, n, crc = struct.unpack('<IIQI', b[8:28])
    p = b[28:]
    assert len(p) == n and zlib.crc32(p) == crc
    return ver, p
def unframe(p):
    out, pos, tags = b'', 0, []
    while pos < len(p):
        tag = p[pos:pos+4]; n, = struct.unpack('<Q', p[pos+4:pos+12])
        tags.append(tag.decode())
        if tag == b'TRST': out += struct.pack('<I', 1)
        out += p[pos+12:pos+12+n]; pos += 12 + n
    if 'TRST' not in tags: out += struct.pack('<I', 0)
    return out, tags
v2, p2 = payload(sys.argv[1]); v3, p3 = payload(sys.argv[2])
assert v2 == 2 and v3 == 3, (v2, v3)
u, tags = unframe(p3)
print(sys.argv[2], ' '.join(tags), 'content == v2 payload' if u == p2 else 'CONTENT DIFFERS')
