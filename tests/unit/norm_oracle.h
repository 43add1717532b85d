/*
 * norm_oracle.h -- what each normalize result must mean, written out
 * independently of normalize.c's table.  Shared by tests/unit/
 * test_normalize.c and fuzz/fuzz_normalize.c, so that both check the same
 * expectation.
 */
#ifndef NORM_ORACLE_H
#define NORM_ORACLE_H

#include "normalize.h"

static inline enum norm_class
norm_oracle_class(enum norm_result r)
{
	switch (r) {
	case NORM_OK:
		return NORM_CLASS_EVENT;
	case NORM_URL_VALIDATION:
		return NORM_CLASS_VALIDATION;
	case NORM_NOT_MEETING:
		return NORM_CLASS_IGNORED;
	case NORM_ERR_EMPTY:
	case NORM_ERR_UTF8:
	case NORM_ERR_JSON:
	case NORM_ERR_PLAIN_TOKEN:      /* never signed: answered 400 */
		return NORM_CLASS_BAD_REQUEST;
	default:
		return NORM_CLASS_REJECTED;
	}
}

#endif /* NORM_ORACLE_H */
