/* evalhelp.h — the evaluation set-up the eval tests share: `none` against one method, logistic
 * regression, on target column `target`, over `seeds` seeds (the rest the library's defaults). */
#ifndef EVALHELP_H
#define EVALHELP_H
#include "eval/eval.h"

static inline mcr_eval_config eval_none_vs(const char *target, mcr_aug_method m, int seeds) {
    mcr_eval_config e;
    mcr_eval_config_default(&e);
    e.target = target;
    e.seeds = seeds;
    e.methods[0] = MCR_AUG_NONE, e.methods[1] = m;
    e.nmethods = 2;
    e.classifiers[0] = MCR_CLF_LOGREG;
    e.nclassifiers = 1;
    return e;
}
#endif
