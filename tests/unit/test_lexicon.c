/*
 * Tests for workers/lexicon.c: how text is cut into tokens and written in
 * symbols (unknown runs, spaces, offsets), how aliases are spelled (one way,
 * or several for a stem), and which aliases are refused.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "../../workers/lexicon.h"

/* Spellings of one alias, collected by tg_lex_spell. */
struct spelled {
	uint8_t code[8][64];
	size_t len[8];
	int n;
};

static void
collect(const uint8_t *code, size_t len, void *arg)
{
	struct spelled *sp = arg;

	assert_true(sp->n < 8 && len <= 64);
	memcpy(sp->code[sp->n], code, len);
	sp->len[sp->n++] = len;
}

static int
add(struct tg_lex *lx, const char *alias, int prefix)
{
	char err[128];
	int i = tg_lex_add(lx, alias, strlen(alias), prefix, err, sizeof(err));

	if (i < 0)
		fail_msg("add %s: %s", alias, err);
	return i;
}

static struct spelled
spell(struct tg_lex *lx, int i)
{
	struct spelled sp = { 0 };
	char err[128];

	if (tg_lex_spell(lx, i, collect, &sp, err, sizeof(err)) < 0)
		fail_msg("spell: %s", err);
	return sp;
}

/* Is code (len bytes) somewhere in text's symbols, starting at a token? */
static int
found(const struct tg_lex_text *t, const uint8_t *code, size_t len)
{
	for (size_t i = 0; i + len <= t->len; i++)
		if (memcmp(t->code + i, code, len) == 0)
			return 1;
	return 0;
}

static void
encode(struct tg_lex *lx, const char *text, struct tg_lex_text *t)
{
	assert_int_equal(tg_lex_encode(lx, text, strlen(text), t), 0);
}

static void
test_tokens_and_offsets(void **state)
{
	struct tg_lex *lx = tg_lex_new();
	struct tg_lex_text t = { 0 };
	char err[128];
	struct spelled sp;
	int words, stems, syms;
	int kh;

	(void)state;
	kh = add(lx, "kata'ib hezbollah", 0);
	add(lx, "U.S.", 0);
	assert_int_equal(tg_lex_build(lx, err, sizeof(err)), 0);
	tg_lex_counts(lx, &words, &stems, &syms);
	assert_int_equal(words, 5);      /* kata ib hezbollah u s */
	assert_int_equal(stems, 0);
	assert_int_equal(syms, 1 + 5 + 2); /* unknown, the words, ' and . */
	sp = spell(lx, kh);
	assert_int_equal(sp.n, 1);
	assert_int_equal(sp.len[0], 2 + 2 + 2 + 1 + 2); /* kata ' ib SPACE hezbollah */
	assert_int_equal(tg_lex_code_len(lx, kh), sp.len[0]);
	assert_true(sp.code[0][0] & 0x80);
	assert_int_equal(sp.code[0][6], TG_LEX_SPACE);

	/* A run of unknown words is one symbol; a space survives only between
	 * known tokens; every code byte maps back to its token. */
	encode(lx, "the new KATA'IB  Hezbollah leader", &t);
	assert_int_equal(t.len, 2 + 2 + 2 + 2 + 2 + 2 + 2);
	assert_int_equal(t.start[0], 0);  /* "the new " */
	assert_int_equal(t.start[2], 8);  /* KATA */
	assert_int_equal(t.end[3], 12);
	assert_int_equal(t.start[6], 13); /* IB */
	assert_int_equal(t.end[7], 15);
	assert_false(found(&t, sp.code[0], sp.len[0])); /* two spaces */
	encode(lx, "kataib hezbollah; Kata'ib Hezbollah", &t);
	assert_true(found(&t, sp.code[0], sp.len[0]));
	assert_int_equal(t.start[t.len - 1], 26);
	assert_int_equal(t.end[t.len - 1], 35);
	encode(lx, "", &t);
	assert_int_equal(t.len, 0);
	tg_lex_text_free(&t);
	tg_lex_free(lx);
}

static void
test_stems(void **state)
{
	struct tg_lex *lx = tg_lex_new();
	struct tg_lex_text t = { 0 };
	char err[128];
	struct spelled sp, word;
	int st, dep;

	(void)state;
	st = add(lx, "deploy", 1);
	dep = add(lx, "deployment", 0);
	add(lx, "deploymentsx", 1); /* a longer stem: deploy* accepts its symbol too */
	add(lx, "dep", 0);          /* shorter than the stem: not accepted */
	assert_int_equal(tg_lex_build(lx, err, sizeof(err)), 0);
	sp = spell(lx, st);
	assert_int_equal(sp.n, 3);  /* deploy*, deployment, deploymentsx* */
	word = spell(lx, dep);
	assert_int_equal(word.n, 1);
	{
		/* All at once, as the classifier compiles them: ids are places in
		 * the list, a negative entry is skipped. */
		struct tg_lex_spellings all;
		int lits[3] = { st, -1, dep }, bad = -1;

		assert_int_equal(tg_lex_spell_all(lx, lits, 3, &all, &bad, err, sizeof(err)), 0);
		assert_int_equal(all.n, 4);
		assert_int_equal(all.id[0], 0);
		assert_int_equal(all.id[2], 0);
		assert_int_equal(all.id[3], 2);
		assert_int_equal(all.len[3], tg_lex_code_len(lx, dep));
		assert_memory_equal(all.code[3], word.code[0], 2);
		assert_int_equal(all.flags[3], 0);
		tg_lex_spellings_free(&all);
	}
	encode(lx, "DEPLOYMENT", &t);
	assert_int_equal(t.len, 2);
	assert_memory_equal(t.code, word.code[0], 2);
	encode(lx, "deployed", &t);
	assert_true(found(&t, sp.code[0], 2) || found(&t, sp.code[1], 2) ||
	    found(&t, sp.code[2], 2));
	encode(lx, "redeployed", &t);
	assert_int_equal(t.len, 2);
	assert_int_equal(t.code[0], 0x80); /* unknown */
	assert_int_equal(t.code[1], 0);
	tg_lex_text_free(&t);
	tg_lex_free(lx);
}

static void
test_refused(void **state)
{
	struct tg_lex *lx = tg_lex_new();
	char err[128], longword[80];

	(void)state;
	memset(longword, 'a', 65);
	longword[65] = '\0';
	assert_int_equal(tg_lex_add(lx, longword, 65, 0, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "more than 64 bytes"));
	assert_int_equal(tg_lex_add(lx, "a  b", 4, 0, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "two spaces"));
	assert_int_equal(tg_lex_add(lx, "a ", 2, 0, err, sizeof(err)), -1);
	assert_int_equal(tg_lex_add(lx, "", 0, 0, err, sizeof(err)), -1);
	/* Nothing refused was kept: the next alias is number 0. */
	assert_int_equal(tg_lex_add(lx, "ok", 2, 0, err, sizeof(err)), 0);
	assert_int_equal(tg_lex_spell(lx, 0, collect, NULL, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not built"));
	tg_lex_free(lx);
}

/* The two limits of a built lexicon are refused with a reason: a stem that
 * more than TG_LEX_MAX_SPELLINGS words start, and more symbols than two bytes
 * hold. */
static void
test_limits(void **state)
{
	struct tg_lex *lx = tg_lex_new();
	char err[128], w[16];
	int st;

	(void)state;
	st = add(lx, "zz", 1);
	for (int i = 0; i <= TG_LEX_MAX_SPELLINGS; i++) {
		snprintf(w, sizeof(w), "zz%d", i);
		add(lx, w, 0);
	}
	assert_int_equal(tg_lex_build(lx, err, sizeof(err)), 0);
	assert_int_equal(tg_lex_spell(lx, st, collect, NULL, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "more than 512 ways"));
	tg_lex_free(lx);

	lx = tg_lex_new();
	for (int i = 0; i < 128 * 127; i++) {
		snprintf(w, sizeof(w), "w%d", i);
		add(lx, w, 0);
	}
	assert_int_equal(tg_lex_build(lx, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "more than 16256"));
	tg_lex_free(lx);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tokens_and_offsets),
		cmocka_unit_test(test_stems),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_limits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
