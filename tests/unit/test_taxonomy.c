/*
 * Tests for workers/taxonomy.c: a valid file parsed into tags, terms, patterns,
 * rules and vetoes; every kind of broken line reported as "file:line: why", all
 * of them in one pass; alias translation; the default taxonomy's vocabulary.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "../../common/util.h"
#include "../../workers/taxonomy.h"

static struct tg_taxonomy *
parse(const char *text, char *err, size_t errlen)
{
	return tg_taxonomy_parse("t.tgt", text, strlen(text), err, errlen);
}

static const char good[] =
    "# a comment\n"
    "taxonomy demo\n"
    "field title 3\n"
    "repeat 4\n"
    "tag iraq actor 3\n"
    "tag us actor 2.5\n"
    "tag strike topic 3   # trailing comment\n"
    "dyad iraq-us iraq us\n"
    "relevant iraq topic\n"
    "relevant us iraq\n"
    "term iraq.name iraq 2\n"
    "    Iraq | Iraqi\n"
    "\tBaghdad\n"
    "term us.abbr us 2 strike 0.5\n"
    "    =US | U.S.\n"
    "    =/\\bUSA?\\b/\n"
    "term ctx.sports\n"
    "    football | sanction*\n"
    "term strike.word\n"
    "    strike | strikes\n"
    "rule strike.mil strike 3 = strike.word NEAR/40 iraq.name|us.abbr NOT ctx.sports "
    "AND iraq.name NOT NEAR/10 ctx.sports\n"
    "veto strike.word NEAR/60 ctx.sports\n"
    "veto * IN ctx.sports\n"
    "veto iraq.name ctx.sports\n";

static void
test_parse_good(void **state)
{
	char err[1024];
	struct tg_taxonomy *t;
	const struct tg_tax_rule *r;

	(void)state;
	t = parse(good, err, sizeof(err));
	assert_non_null(t);
	assert_string_equal(err, "");
	assert_string_equal(t->name, "demo");
	assert_true(t->field_weight[TG_FIELD_TITLE] == 3.0f);
	assert_true(t->field_weight[TG_FIELD_SUMMARY] == 1.0f);
	assert_int_equal(t->repeat, 4);
	assert_int_equal(t->ntags, 3);
	assert_string_equal(t->tags[1].name, "us");
	assert_true(t->tags[1].threshold == 2.5f);
	assert_int_equal(t->tags[2].kind, TG_TAX_TOPIC);
	assert_int_equal(t->ndyads, 1);
	assert_int_equal(t->dyads[0].a, 0);
	assert_int_equal(t->dyads[0].b, 1);
	assert_int_equal(t->nrelevant, 2);
	assert_int_equal(t->relevant[0].item[1], TG_TAX_ANY_TOPIC);
	assert_int_equal(t->nterms, 4);
	assert_int_equal(t->terms[0].npatterns, 3);
	assert_int_equal(t->terms[1].nscores, 2);
	assert_true(t->terms[1].score[1].weight == 0.5f);
	assert_int_equal(t->terms[1].score[1].tag, 2);
	assert_int_equal(t->terms[2].nscores, 0);
	assert_int_equal(t->npatterns, 10);
	assert_string_equal(t->patterns[0].regex, "Iraq");
	assert_int_equal(t->patterns[0].flags,
	    TG_TAX_CASELESS | TG_TAX_WORD_START | TG_TAX_WORD_END);
	assert_int_equal(t->patterns[0].term, 0);
	assert_int_equal(t->patterns[2].line, 13);
	assert_string_equal(t->patterns[3].regex, "US");
	assert_int_equal(t->patterns[3].flags, TG_TAX_WORD_START | TG_TAX_WORD_END);
	/* An acronym is case-sensitive without '='. */
	assert_string_equal(t->patterns[4].regex, "U\\.S\\.");
	assert_int_equal(t->patterns[4].flags, TG_TAX_WORD_START);
	assert_string_equal(t->patterns[5].regex, "\\bUSA?\\b");
	assert_int_equal(t->patterns[5].flags, TG_TAX_REGEX);
	assert_string_equal(t->patterns[7].regex, "sanction");
	assert_int_equal(t->patterns[7].flags,
	    TG_TAX_CASELESS | TG_TAX_WORD_START | TG_TAX_WORD_END | TG_TAX_PREFIX);
	assert_int_equal(t->nrules, 1);
	r = &t->rules[0];
	assert_int_equal(r->anchor.n, 1);
	assert_int_equal(r->anchor.term[0], 3);
	assert_int_equal(r->nconds, 4);
	assert_int_equal(r->cond[0].kind, TG_COND_NEAR);
	assert_int_equal(r->cond[0].window, 40);
	assert_int_equal(r->cond[0].set.n, 2);
	assert_int_equal(r->cond[1].kind, TG_COND_NOT);
	assert_int_equal(r->cond[2].kind, TG_COND_AND);
	assert_int_equal(r->cond[3].kind, TG_COND_NOTNEAR);
	assert_int_equal(r->cond[3].window, 10);
	assert_int_equal(t->nvetoes, 3);
	assert_int_equal(t->vetoes[0].cond.kind, TG_COND_NEAR);
	assert_int_equal(t->vetoes[1].all_terms, 1);
	assert_int_equal(t->vetoes[1].cond.kind, TG_COND_IN);
	assert_int_equal(t->vetoes[2].cond.kind, TG_COND_AND);
	assert_int_equal(tg_taxonomy_tag(t, "strike"), 2);
	assert_int_equal(tg_taxonomy_tag(t, "nope"), -1);
	assert_int_equal(tg_taxonomy_term(t, "ctx.sports"), 2);
	assert_int_equal(strlen(t->version), 16);
	tg_taxonomy_free(t);
}

static void
test_version_is_content_hash(void **state)
{
	char err[256], v1[17];
	struct tg_taxonomy *t;

	(void)state;
	t = parse("tag a topic 1\n", err, sizeof(err));
	assert_non_null(t);
	memcpy(v1, t->version, sizeof(v1));
	tg_taxonomy_free(t);
	t = parse("tag a topic 1\n", err, sizeof(err));
	assert_string_equal(t->version, v1);
	tg_taxonomy_free(t);
	t = parse("tag a topic 2\n", err, sizeof(err));
	assert_string_not_equal(t->version, v1);
	tg_taxonomy_free(t);
}

/* Each broken line alone: the message names t.tgt, the line and the reason. */
static void
expect_error(const char *text, const char *want)
{
	char err[1024];
	struct tg_taxonomy *t = parse(text, err, sizeof(err));

	if (t != NULL || strstr(err, want) == NULL)
		fail_msg("for <<%s>> wanted \"%s\", got \"%s\"", text, want, err);
}

static void
test_each_error(void **state)
{
	(void)state;
	expect_error("tag a topic 1\nfrobnicate x\n", "t.tgt:2: unknown statement 'frobnicate'");
	expect_error("tag a topic zero\n", "t.tgt:1: bad threshold 'zero'");
	expect_error("tag a topic -1\n", "t.tgt:1: bad threshold '-1'");
	expect_error("tag a fruit 1\n", "t.tgt:1: unknown tag kind 'fruit'");
	expect_error("tag A topic 1\n", "t.tgt:1: bad tag name 'A'");
	expect_error("tag a topic 1\ntag a topic 2\n", "t.tgt:2: 'a' is already defined");
	expect_error("tag a topic 1\nterm x b 2\n    foo\n", "t.tgt:2: unknown tag 'b'");
	expect_error("tag a topic 1\nterm x a\n    foo\n", "t.tgt:2: expected pairs of 'tag weight'");
	expect_error("tag a topic 1\nterm x a heavy\n    foo\n", "t.tgt:2: bad weight 'heavy'");
	expect_error("tag a topic 1\n    stray alias\n", "t.tgt:2: indented alias line outside a term");
	expect_error("tag a topic 1\nterm x a 1\ntag b topic 1\n", "t.tgt:2: term 'x' has no aliases");
	expect_error("tag a topic 1\nterm x a 1\n    foo | | bar\n", "t.tgt:3: empty alias");
	expect_error("tag a topic 1\nterm x a 1\n    fo*o\n", "t.tgt:3: '*' may only end an alias");
	expect_error("tag a topic 1\nterm x a 1\n    \xe2\x80\x8b\n", "t.tgt:3: empty alias");
	expect_error("tag a topic 1\nterm x a 1\n    /unclosed\n", "t.tgt:3: regex alias must be");
	expect_error("tag a topic 1\nrule r a 1 = later\nterm later\n    x\n",
	    "t.tgt:2: unknown term 'later' (terms must be defined before use)");
	expect_error("tag a topic 1\nterm x\n    x\nrule r a 1 = x NEAR/0 x\n",
	    "t.tgt:4: bad window in 'NEAR/0'");
	expect_error("tag a topic 1\nterm x\n    x\nrule r a 1 = x NEAR/abc x\n",
	    "t.tgt:4: bad window in 'NEAR/abc'");
	expect_error("tag a topic 1\nterm x\n    x\nrule r a 1 = x OR x\n",
	    "t.tgt:4: expected AND, NOT, NEAR/n or NOT NEAR/n, got 'OR'");
	expect_error("tag a topic 1\nterm x\n    x\nrule r a 1 = x AND\n",
	    "t.tgt:4: condition without a term");
	expect_error("tag a topic 1\nterm x\n    x\nrule r a 1 x\n", "t.tgt:4: usage: rule");
	expect_error("tag a topic 1\nterm x\n    x\nrule r = x\n", "t.tgt:4: a rule must score");
	expect_error("tag a topic 1\nterm x\n    x\nveto x BESIDE x\n",
	    "t.tgt:4: expected NEAR/n or IN, got 'BESIDE'");
	expect_error("tag a topic 1\nveto nothing x\n", "t.tgt:2: unknown term 'nothing'");
	expect_error("tag a topic 1\nfield body 2\n", "t.tgt:2: unknown field 'body'");
	expect_error("tag a topic 1\nfield title -2\n", "t.tgt:2: bad field weight '-2'");
	expect_error("tag a topic 1\nfield summary 1 later 600 0.5\n",
	    "t.tgt:2: usage: field title|summary|category WEIGHT "
	    "[after BYTES WEIGHT [actor WEIGHT]]");
	expect_error("tag a topic 1\nfield summary 1 after 600\n", "t.tgt:2: usage: field");
	expect_error("tag a topic 1\nfield summary 1 after 600 0.5 topic 1\n",
	    "t.tgt:2: usage: field");
	expect_error("tag a topic 1\nfield summary 1 after 600 0.5 actor\n", "t.tgt:2: usage: field");
	expect_error("tag a topic 1\nfield summary 1 after 600 0.5 actor x\n",
	    "t.tgt:2: bad later actor weight 'x'");
	expect_error("tag a topic 1\nfield summary 1 after 0 0.5\n",
	    "t.tgt:2: bad byte count '0' after 'after'");
	expect_error("tag a topic 1\nfield summary 1 after 12.5 0.5\n",
	    "t.tgt:2: bad byte count '12.5' after 'after'");
	expect_error("tag a topic 1\nfield summary 1 after 600 -1\n",
	    "t.tgt:2: bad later weight '-1'");
	expect_error("tag a topic 1\nrepeat 0\n", "t.tgt:2: usage: repeat N");
	expect_error("tag a topic 1\ntag b actor 1\ndyad d a b\n", "t.tgt:3: 'a' is not an actor tag");
	expect_error("tag a actor 1\ndyad d a a\n", "t.tgt:2: a dyad needs two different actors");
	expect_error("tag a actor 1\nrelevant a zzz\n", "t.tgt:2: unknown tag 'zzz'");
	expect_error("# nothing\n", "t.tgt:1: no tags defined");
}

static void
test_all_errors_in_one_pass(void **state)
{
	char err[2048];
	struct tg_taxonomy *t;

	(void)state;
	t = parse("tag a topic 1\n"
	    "bogus\n"
	    "tag b topic nan\n"
	    "term x a 1\n"
	    "    ok | fo*o\n"
	    "rule r a 1 = missing\n", err, sizeof(err));
	assert_null(t);
	assert_non_null(strstr(err, "t.tgt:2: unknown statement 'bogus'"));
	assert_non_null(strstr(err, "\nt.tgt:3: bad threshold 'nan'"));
	assert_non_null(strstr(err, "\nt.tgt:5: '*' may only end an alias: 'fo*o'"));
	assert_non_null(strstr(err, "\nt.tgt:6: unknown term 'missing'"));
	/* A small buffer is cut, never overrun. */
	t = parse("bogus\nbogus\nbogus\n", err, 20);
	assert_null(t);
	assert_true(strlen(err) < 20);
}

/* Tags, dyads, terms and rules share one namespace, each kind is looked up as
 * itself only. */
static void
test_one_namespace(void **state)
{
	(void)state;
	expect_error("tag a actor 1\ntag b actor 1\nterm a\n    x\n", "t.tgt:3: 'a' is already defined");
	expect_error("tag a actor 1\ntag b actor 1\nterm x\n    x\ntag x topic 1\n",
	    "t.tgt:5: 'x' is already defined");
	expect_error("tag a actor 1\ntag b actor 1\nterm x\n    x\nrule x a 1 = x\n",
	    "t.tgt:5: 'x' is already defined");
	expect_error("tag a actor 1\ntag b actor 1\nterm x\n    x\ndyad x a b\n",
	    "t.tgt:5: 'x' is already defined");
	expect_error("tag a actor 1\ntag b actor 1\ndyad d a b\nterm d\n    x\n",
	    "t.tgt:4: 'd' is already defined");
	expect_error("tag a actor 1\ntag b actor 1\nterm x\n    x\nrule r a 1 = x\n"
	    "rule s a 1 = r\n", "t.tgt:6: unknown term 'r'");
	expect_error("tag a actor 1\nterm x\n    x\nrule r a 1 = a\n", "t.tgt:4: unknown term 'a'");
	expect_error("tag a actor 1\nterm x\n    x\nterm y x 1\n    y\n", "t.tgt:4: unknown tag 'x'");
	expect_error("tag a actor 1\ntag b actor 1\ndyad d a b\nrelevant d\n",
	    "t.tgt:4: unknown tag 'd'");
}

/* Found by fuzz_taxonomy (compile variant): a dyad named "iraq-ira.n" was
 * accepted, and every result that scored it failed tg_result_check (a tag name
 * on the wire has no '.': it makes the ZeroMQ topic "tag.NAME."). Tag and dyad
 * names are now refused with a '.', and every accepted one is valid on the wire;
 * terms and rules keep their dots. */
static void
test_fuzz_tag_names_on_the_wire(void **state)
{
	char err[1024];
	struct tg_taxonomy *t;

	(void)state;
	expect_error("tag a.b topic 1\n", "t.tgt:1: bad tag name 'a.b' (lower-case letters, "
	    "digits, '-', '_'; at most 31 bytes)");
	expect_error("tag iraq actor 3\ntag iran actor 3\ndyad iraq-ira.n iraq iran\n",
	    "t.tgt:3: bad dyad name 'iraq-ira.n'");
	expect_error("tag a topic 1\nterm X\n    x\n", "t.tgt:2: bad term name 'X' (lower-case "
	    "letters, digits, '.', '-', '_'; at most 63 bytes)");
	t = parse("tag iraq_1 actor 3\ntag iran-2 actor 3\ndyad iraq_1-iran-2 iraq_1 iran-2\n"
	    "term ctx.a.b iraq_1 1\n    x\nrule r.1 iran-2 1 = ctx.a.b\n", err, sizeof(err));
	if (t == NULL)
		fail_msg("%s", err);
	for (int i = 0; i < t->ntags; i++)
		assert_true(tg_tag_name_valid(t->tags[i].name, strlen(t->tags[i].name)));
	for (int i = 0; i < t->ndyads; i++)
		assert_true(tg_tag_name_valid(t->dyads[i].name, strlen(t->dyads[i].name)));
	assert_string_equal(t->terms[0].name, "ctx.a.b");
	assert_string_equal(t->rules[0].name, "r.1");
	tg_taxonomy_free(t);
}

/* Many names (the parser's name index grows many times) resolve to the right
 * entries, in time linear in their number. */
static void
test_many_names(void **state)
{
	enum { N = 30000 };
	struct tg_buf b;
	struct tg_taxonomy *t;
	char line[256], err[1024];
	int64_t t0;

	(void)state;
	tg_buf_init(&b, 16u << 20);
	assert_int_equal(tg_buf_append(&b, "tag a actor 1\ntag b topic 1\n", 28), 0);
	for (int i = 0; i < N; i++) {
		int n = snprintf(line, sizeof(line), "term t%d a 1\n    word%d\n", i, i);

		assert_int_equal(tg_buf_append(&b, line, (size_t)n), 0);
	}
	for (int i = 0; i < N; i++) {
		int n = snprintf(line, sizeof(line), "rule r%d b 1 = t%d NEAR/5 t%d|t%d\n", i, i,
		    (i * 7919) % N, N - 1 - i);

		assert_int_equal(tg_buf_append(&b, line, (size_t)n), 0);
	}
	t0 = tg_now_mono_ms();
	t = tg_taxonomy_parse("t.tgt", b.data, b.len, err, sizeof(err));
	print_message("%d terms and %d rules parsed in %lld ms\n", N, N,
	    (long long)(tg_now_mono_ms() - t0));
	if (t == NULL)
		fail_msg("%s", err);
	assert_int_equal(t->nterms, N);
	assert_int_equal(t->nrules, N);
	for (int i = 0; i < N; i += 997) {
		snprintf(line, sizeof(line), "r%d", i);
		assert_string_equal(t->rules[i].name, line);
		assert_int_equal(t->rules[i].score[0].tag, 1);
		assert_int_equal(t->rules[i].anchor.term[0], i);
		assert_int_equal(t->rules[i].cond[0].set.term[0], (i * 7919) % N);
		assert_int_equal(t->rules[i].cond[0].set.term[1], N - 1 - i);
		snprintf(line, sizeof(line), "t%d", i);
		assert_int_equal(tg_taxonomy_term(t, line), i);
	}
	tg_taxonomy_free(t);
	tg_buf_free(&b);
}

static void
expect_pattern(const char *alias, const char *want, unsigned want_flags)
{
	char out[256], err[128];
	unsigned flags;

	if (tg_taxonomy_alias_pattern(alias, out, sizeof(out), &flags, err, sizeof(err)) != 0)
		fail_msg("%s: %s", alias, err);
	assert_string_equal(out, want);
	assert_int_equal(flags, want_flags);
}

static void
test_alias_pattern(void **state)
{
	const unsigned word = TG_TAX_WORD_START | TG_TAX_WORD_END;
	char out[256], err[128];
	unsigned flags;

	(void)state;
	expect_pattern("Kataib Hezbollah", "Kataib\\ Hezbollah", TG_TAX_CASELESS | word);
	expect_pattern("=US$", "US\\$", TG_TAX_WORD_START);
	expect_pattern("(x)", "\\(x\\)", TG_TAX_CASELESS);
	expect_pattern("IRGC", "IRGC", word);
	expect_pattern("CENTCOM", "CENTCOM", word);
	expect_pattern("Iran", "Iran", TG_TAX_CASELESS | word);
	expect_pattern("=Iran", "Iran", word);
	expect_pattern("enrich*", "enrich", TG_TAX_CASELESS | word | TG_TAX_PREFIX);
	expect_pattern("=/a+b/", "a+b", TG_TAX_REGEX);
	expect_pattern("/a+b/", "a+b", TG_TAX_REGEX | TG_TAX_CASELESS);
	expect_pattern("caf\xc3\xa9", "caf\\xc3\\xa9", TG_TAX_CASELESS | TG_TAX_WORD_START);
	assert_int_equal(tg_taxonomy_alias_pattern("*x", out, sizeof(out), &flags, err,
	    sizeof(err)), -1);
	assert_string_equal(err, "'*' may only end an alias");
	assert_int_equal(tg_taxonomy_alias_pattern("x-*", out, sizeof(out), &flags, err,
	    sizeof(err)), -1);
	assert_string_equal(err, "'*' must follow a letter or digit");
	assert_int_equal(tg_taxonomy_alias_pattern("=", out, sizeof(out), &flags, err,
	    sizeof(err)), -1);
	assert_string_equal(err, "empty alias");
	assert_int_equal(tg_taxonomy_alias_pattern("a long alias", out, 8, &flags, err,
	    sizeof(err)), -1);
	assert_string_equal(err, "alias too long");
}

static void
test_alias_normalised(void **state)
{
	char err[256];
	struct tg_taxonomy *t;

	(void)state;
	/* Aliases are normalised like the text (curly apostrophe, diacritics, hyphen)
	 * and an apostrophe inside a word may be left out. */
	t = parse("tag a topic 1\nterm x a 1\n    Kata\xe2\x80\x99ib | T\xc3\xbcrkiye | al-Sudani\n"
	    "    Iran's | Asa'ib Ahl al-Haq\n", err, sizeof(err));
	assert_non_null(t);
	assert_int_equal(t->npatterns, 7);
	assert_string_equal(t->patterns[0].regex, "Kata\\'ib");
	assert_string_equal(t->patterns[1].regex, "Kataib");
	assert_string_equal(t->patterns[2].regex, "Turkiye");
	assert_string_equal(t->patterns[3].regex, "al\\ Sudani");
	assert_string_equal(t->patterns[4].regex, "Iran\\'s");
	assert_string_equal(t->patterns[5].regex, "Asa\\'ib\\ Ahl\\ al\\ Haq");
	assert_string_equal(t->patterns[6].regex, "Asaib\\ Ahl\\ al\\ Haq");
	assert_int_equal(t->terms[0].npatterns, 7);
	tg_taxonomy_free(t);
	t = parse("tag a topic 1\nterm x a 1\n    a'b'c'd'e\n", err, sizeof(err));
	assert_null(t);
	assert_non_null(strstr(err, "t.tgt:3: more than 3 apostrophes"));
}

static void
test_load_errors(void **state)
{
	char err[256];

	(void)state;
	assert_null(tg_taxonomy_load("/nonexistent/tax.tgt", err, sizeof(err)));
	assert_non_null(strstr(err, "/nonexistent/tax.tgt: No such file"));
}

static void
test_default_taxonomy(void **state)
{
	static const char *const want[] = { "iraq", "us", "iran", "strike", "troops", "militia",
		"sanctions", "diplomacy", "nuclear", "terrorism" };
	static const char *const dyads[] = { "iraq-us", "us-iran", "iraq-iran" };
	const char *top = getenv("TG_TOP");
	char path[1024], err[4096];
	struct tg_taxonomy *t;

	(void)state;
	snprintf(path, sizeof(path), "%s/deploy/taxonomy.tgt", top ? top : ".");
	t = tg_taxonomy_load(path, err, sizeof(err));
	if (t == NULL)
		fail_msg("%s", err);
	assert_int_equal(t->ntags, 10);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		assert_true(tg_taxonomy_tag(t, want[i]) >= 0);
	assert_int_equal(t->ndyads, 3);
	for (size_t i = 0; i < 3; i++)
		assert_string_equal(t->dyads[i].name, dyads[i]);
	assert_true(t->npatterns > 1000);
	/* No regex: the classifier then builds one Hyperscan database and scans
	 * each field once (a regex adds a second scan over the text). */
	for (int i = 0; i < t->npatterns; i++)
		if (t->patterns[i].flags & TG_TAX_REGEX)
			fail_msg("line %d: a regex in the default taxonomy", t->patterns[i].line);
	tg_taxonomy_free(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_good),
		cmocka_unit_test(test_version_is_content_hash),
		cmocka_unit_test(test_each_error),
		cmocka_unit_test(test_all_errors_in_one_pass),
		cmocka_unit_test(test_one_namespace),
		cmocka_unit_test(test_many_names),
		cmocka_unit_test(test_fuzz_tag_names_on_the_wire),
		cmocka_unit_test(test_alias_pattern),
		cmocka_unit_test(test_alias_normalised),
		cmocka_unit_test(test_load_errors),
		cmocka_unit_test(test_default_taxonomy),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
