/*
 * Tests for workers/classify.c: the scoring semantics on small taxonomies written
 * by the test (weights, fields, repeat, rules, vetoes, dyads, relevant), the
 * default taxonomy on a table of hard cases, and evidence offsets that point at
 * the right bytes of the original text.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "../../common/util.h"
#include "../../workers/classify.h"
#include "../../workers/taxonomy.h"

static struct tg_result res;

/* Write text to a temporary file; returns its path in path. */
static void
write_tmp(char *path, size_t len, const char *text)
{
	FILE *f;
	int fd;

	snprintf(path, len, "/tmp/tg-test-classify-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
	fclose(f);
}

static struct tg_classifier *
load_text(const char *text)
{
	char path[64], err[4096];
	struct tg_classifier *c;

	write_tmp(path, sizeof(path), text);
	c = tg_classifier_load(path, err, sizeof(err));
	unlink(path);
	if (c == NULL)
		fail_msg("load: %s", err);
	return c;
}

static void
run(struct tg_classifier *c, const char *title, const char *body)
{
	struct tg_classify_input in = { title, title ? strlen(title) : 0, body,
		body ? strlen(body) : 0, NULL, 0 };
	char err[256];

	assert_int_equal(tg_classify(c, &in, &res, err, sizeof(err)), 0);
}

static float
score(const char *tag)
{
	const struct tg_tag *t = tg_result_find(&res, tag);

	return t ? t->score : -1;
}

static const char mini[] =
    "field title 2\n"
    "field summary 1\n"
    "repeat 2\n"
    "tag a actor 3\n"
    "tag b actor 3\n"
    "tag t topic 3\n"
    "dyad a-b a b\n"
    "relevant a t\n"
    "term a.name a 2\n"
    "    Alpha\n"
    "term b.name b 3\n"
    "    Beta | =BT\n"
    "term hit\n"
    "    hit | hits\n"
    "term gun\n"
    "    gun | guns\n"
    "term game\n"
    "    game | sport\n"
    "term mask\n"
    "    Alpha Centauri\n"
    "rule t.gun t 3 = hit NEAR/10 gun NOT game\n"
    "veto * IN mask\n"
    "veto b.name NEAR/5 game\n";

static void
test_weights_fields_repeat(void **state)
{
	struct tg_classifier *c = load_text(mini);

	(void)state;
	/* One body mention: 2 < 3. */
	run(c, "", "Alpha said");
	assert_int_equal(res.ntags, 0);
	/* In the title the field weight doubles it. */
	run(c, "Alpha", "");
	assert_true(score("a") == 4.0f);
	/* Repeats count up to `repeat` per field. */
	run(c, "", "Alpha Alpha Alpha Alpha");
	assert_true(score("a") == 4.0f);
	run(c, "Alpha Alpha Alpha", "Alpha Alpha Alpha");
	assert_true(score("a") == 12.0f);
	assert_false(res.relevant); /* a without a topic */
	/* Case-sensitive alias. */
	run(c, "", "BT bt Bt");
	assert_true(score("b") == 3.0f);
	assert_int_equal(res.tags[0].nevidence, 1);
	tg_classifier_free(c);
}

/* Padding for the later-weight tests: one long word (runs of blanks would be
 * normalised to one), so that what follows starts a known number of bytes in. */
static const char xs[] = "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx";

/* pad bytes of padding, a blank, then tail (a static buffer, valid until the
 * next call). */
static const char *
padded(int pad, const char *tail)
{
	static char buf[256];

	snprintf(buf, sizeof(buf), "%.*s %s", pad, xs, tail);
	return buf;
}

/* "field summary 1 after N W": a match that starts N bytes or more into the
 * field weighs W, so an article's background paragraphs count less than its
 * lede; the title keeps its weight, and evidence still points at the match. */
static void
test_field_later_weight(void **state)
{
	static const char text[] =
	    "field title 2\n"
	    "field summary 1 after 40 0.5\n"
	    "tag a actor 3\n"
	    "term a.name a 3\n"
	    "    Alpha\n";
	struct tg_classifier *c = load_text(text);
	const struct tg_taxonomy *t = tg_classifier_taxonomy(c);
	char body[128];

	(void)state;
	assert_int_equal(t->field_after[TG_FIELD_SUMMARY], 40);
	assert_true(t->field_later_weight[TG_FIELD_SUMMARY] == 0.5f);
	assert_int_equal(t->field_after[TG_FIELD_TITLE], 0);
	/* In the lede: full weight. */
	run(c, "", "Alpha said so.");
	assert_true(score("a") == 3.0f);
	/* Starting at byte 40 or later: half, below the threshold. */
	run(c, "", padded(39, "Alpha said so."));
	assert_true(score("a") < 0);
	/* One early and one late: 3 + 1.5. */
	snprintf(body, sizeof(body), "Alpha, %.40s Alpha again.", xs);
	run(c, "", body);
	assert_true(score("a") == 4.5f);
	assert_int_equal(res.tags[0].nevidence, 2);
	/* A match starting at byte 39 is still in the lede. */
	run(c, "", padded(38, "Alpha"));
	assert_true(score("a") == 3.0f);
	/* The title is not limited. */
	run(c, "Alpha", "");
	assert_true(score("a") == 6.0f);
	tg_classifier_free(c);
}

/* "... after N W actor W3": late in the field, actors weigh W3 and topics W,
 * since a background paragraph names past events (topics) more often than it
 * brings in a new party; a match feeding both kinds weighs each its own way. */
static void
test_field_later_actor_weight(void **state)
{
	static const char text[] =
	    "field title 2\n"
	    "field summary 1 after 40 0.25 actor 0.5\n"
	    "repeat 2\n"
	    "tag a actor 3\n"
	    "tag t topic 3\n"
	    "term a.name a 4\n"
	    "    Alpha\n"
	    "term t.word t 4\n"
	    "    raid\n"
	    "term both a 4 t 4\n"
	    "    Alpha raid\n";
	struct tg_classifier *c = load_text(text);
	const struct tg_taxonomy *t = tg_classifier_taxonomy(c);

	(void)state;
	assert_true(t->field_later_weight[TG_FIELD_SUMMARY] == 0.25f);
	assert_true(t->field_later_actor_weight[TG_FIELD_SUMMARY] == 0.5f);
	/* Early: both at full weight. */
	run(c, "", "Alpha and a raid.");
	assert_true(score("a") == 4.0f);
	assert_true(score("t") == 4.0f);
	/* Late: the actor at half, the topic at a quarter. */
	run(c, "", padded(45, "Alpha and a raid."));
	assert_true(score("a") < 0); /* 2 < 3: not given */
	run(c, "", padded(45, "Alpha, Alpha and a raid, a raid."));
	assert_true(score("a") == 4.0f);
	assert_true(score("t") < 0); /* 2 x 1 < 3 */
	/* One match of a term scoring both kinds: each its own late weight. */
	run(c, "", padded(45, "Alpha raid"));
	assert_true(score("a") == 2.0f + 2.0f); /* a.name and both, 4 x 0.5 each */
	assert_true(score("t") < 0);             /* raid 1 + both 1 */
	tg_classifier_free(c);
	/* Without "actor", actors take the later weight too. */
	c = load_text("field summary 1 after 40 0.5\ntag a actor 3\nterm a.name a 3\n    Alpha\n");
	t = tg_classifier_taxonomy(c);
	assert_true(t->field_later_actor_weight[TG_FIELD_SUMMARY] == 0.5f);
	tg_classifier_free(c);
}

static void
test_rules_vetoes_dyads(void **state)
{
	struct tg_classifier *c = load_text(mini);
	const struct tg_tag *t;

	(void)state;
	/* NEAR within 10 bytes. */
	run(c, "", "hit by a gun");
	assert_true(score("t") == 3.0f);
	run(c, "", "hit by a stray old gun");
	assert_true(score("t") < 0);
	/* NOT anywhere in the item, even in the other field. */
	run(c, "a game", "hit by a gun");
	assert_true(score("t") < 0);
	/* Masked: Alpha inside Alpha Centauri does not count. */
	run(c, "Alpha Centauri", "");
	assert_true(score("a") < 0);
	/* Veto near: Beta next to game is dropped, Beta far away is kept. */
	run(c, "", "game Beta");
	assert_true(score("b") < 0);
	run(c, "", "game and then much later Beta");
	assert_true(score("b") == 3.0f);
	/* Dyad: both actors; score is the weaker ratio to threshold. */
	run(c, "Alpha Beta", "hit by a gun");
	assert_true(score("a") == 4.0f);
	assert_true(score("b") == 6.0f);
	t = tg_result_find(&res, "a-b");
	assert_non_null(t);
	assert_true(t->score > 1.33f && t->score < 1.34f);
	assert_true(t->threshold == 1.0f);
	assert_true(res.relevant);
	/* Order: declared tags, then dyads. */
	assert_string_equal(res.tags[0].name, "a");
	assert_string_equal(res.tags[res.ntags - 1].name, "a-b");
	tg_classifier_free(c);
}

static void
test_near_wants_other_words(void **state)
{
	struct tg_classifier *c = load_text(
	    "tag t topic 3\n"
	    "term gun\n"
	    "    gun\n"
	    "term weapon\n"
	    "    gun | rifle\n"
	    "term word\n"
	    "    strike\n"
	    "term phrase\n"
	    "    on strike\n"
	    "rule t.pair t 3 = gun NEAR/10 weapon\n"
	    "rule t.word t 3 = word NOT NEAR/5 phrase\n");

	(void)state;
	/* The same word is not its own context. */
	run(c, "", "a gun");
	assert_true(score("t") < 0);
	run(c, "", "a gun and a rifle");
	assert_true(score("t") == 3.0f);
	/* NOT NEAR counts a phrase around the anchor itself. */
	run(c, "", "workers on strike");
	assert_true(score("t") < 0);
	run(c, "", "a strike");
	assert_true(score("t") == 3.0f);
	tg_classifier_free(c);
}

/* tg_classify_near_misses: the tags of the last item that scored but fell short,
 * with their evidence; not the tags given, not the ones that scored nothing, and
 * nothing left over from the item before. */
static void
test_near_misses(void **state)
{
	struct tg_classifier *c = load_text(mini);
	struct tg_result *near = tg_malloc(sizeof(*near));

	(void)state;
	run(c, "", "Alpha said");
	assert_int_equal(res.ntags, 0);
	assert_int_equal(tg_classify_near_misses(c, near), 1);
	assert_string_equal(near->tags[0].name, "a");
	assert_true(near->tags[0].score == 2.0f);
	assert_true(near->tags[0].threshold == 3.0f);
	assert_int_equal(near->tags[0].nevidence, 1);
	assert_int_equal(near->tags[0].evidence[0].field, TG_FIELD_SUMMARY);
	assert_int_equal(near->tags[0].evidence[0].start, 0);
	assert_int_equal(near->tags[0].evidence[0].end, 5);
	assert_string_equal(near->tags[0].evidence[0].rule, "a.name");
	assert_string_equal(near->taxonomy, res.taxonomy);
	/* Given in the title: a tag, so no near miss. */
	run(c, "Alpha", "");
	assert_true(score("a") == 4.0f);
	assert_int_equal(tg_classify_near_misses(c, near), 0);
	/* A vetoed match and a rule whose NOT holds score nothing. */
	run(c, "", "Beta game; hit the gun in a game");
	assert_int_equal(res.ntags, 0);
	assert_int_equal(tg_classify_near_misses(c, near), 0);
	/* An empty item after a near miss leaves none behind. */
	run(c, "", "Alpha said");
	run(c, NULL, NULL);
	assert_int_equal(tg_classify_near_misses(c, near), 0);
	free(near);
	tg_classifier_free(c);
}

static void
test_version_and_empty(void **state)
{
	struct tg_classifier *c = load_text(mini);
	char want[17];

	(void)state;
	snprintf(want, sizeof(want), "%016llx",
	    (unsigned long long)tg_hash64(TG_HASH_INIT, mini, strlen(mini)));
	assert_string_equal(tg_classifier_version(c), want);
	run(c, NULL, NULL);
	assert_int_equal(res.ntags, 0);
	assert_false(res.relevant);
	assert_string_equal(res.taxonomy, want);
	tg_classifier_free(c);
}

static void
test_bad_patterns_reported(void **state)
{
	char path[64], err[1024];
	struct tg_classifier *c;

	(void)state;
	write_tmp(path, sizeof(path),
	    "tag a topic 1\n"
	    "term x a 1\n"
	    "    ok\n"
	    "    /(unclosed/\n"
	    "    /a*/\n");
	c = tg_classifier_load(path, err, sizeof(err));
	assert_null(c);
	if (strstr(err, ":4: bad pattern /(unclosed/") == NULL ||
	    strstr(err, ":5: pattern /a*/ can match empty text") == NULL ||
	    strncmp(err, path, strlen(path)) != 0)
		fail_msg("got: %s", err);
	unlink(path);
	/* A word longer than the lexicon takes is refused with its line. */
	write_tmp(path, sizeof(path),
	    "tag a topic 1\n"
	    "term x a 1\n"
	    "    ok\n"
	    "    Llanfairpwllgwyngyllgogerychwyrndrobwllllantysiliogogogochuchaf"
	    "Llanfairpwllgwyngyll\n");
	c = tg_classifier_load(path, err, sizeof(err));
	assert_null(c);
	if (strstr(err, ":4: a word of more than 64 bytes") == NULL)
		fail_msg("got: %s", err);
	unlink(path);
	/* Parse errors come through too. */
	write_tmp(path, sizeof(path), "tag a topic 1\nbogus\n");
	c = tg_classifier_load(path, err, sizeof(err));
	assert_null(c);
	assert_non_null(strstr(err, ":2: unknown statement 'bogus'"));
	unlink(path);
	/* A long bad regex is quoted shortened, so the reason is never cut off. */
	{
		char tax[1024];
		int n = snprintf(tax, sizeof(tax), "tag a topic 1\nterm x a 1\n    /(");

		for (int i = 0; i < 60; i++)
			n += snprintf(tax + n, sizeof(tax) - (size_t)n, "abcdefghij|");
		snprintf(tax + n, sizeof(tax) - (size_t)n, "z/\n");
		write_tmp(path, sizeof(path), tax);
	}
	c = tg_classifier_load(path, err, sizeof(err));
	assert_null(c);
	if (strstr(err, ":3: bad pattern /(abcdefghij|") == NULL || strstr(err, ".../: ") == NULL ||
	    strstr(err, "arenthes") == NULL) /* Hyperscan: "Missing close parenthesis..." */
		fail_msg("got: %s", err);
	unlink(path);
}

/* ---- the default taxonomy ---- */

static struct tg_classifier *deflt;

static int
setup_default(void **state)
{
	const char *top = getenv("TG_TOP");
	char path[1024], err[8192];

	(void)state;
	snprintf(path, sizeof(path), "%s/deploy/taxonomy.tgt", top ? top : ".");
	deflt = tg_classifier_load(path, err, sizeof(err));
	if (deflt == NULL) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	return 0;
}

static int
teardown_default(void **state)
{
	(void)state;
	tg_classifier_free(deflt);
	return 0;
}

struct hard_case {
	const char *title;
	const char *body;
	const char *want;   /* tags that must be there, space separated */
	const char *forbid; /* tags that must not */
	int relevant;
};

static const struct hard_case cases[] = {
	/* "US" the country, "us" the pronoun, US in names. */
	{ "Give us time, says coach after heavy defeat", "\"They beat us fairly,\" he said.",
	    "", "us", 0 },
	{ "LET US PRAY: churches reopen after storm", "", "", "us", 0 },
	{ "Alcaraz wins the US Open in five sets", "The Spaniard lifted the US Open trophy in New York.",
	    "", "us", 0 },
	{ "Former US Airways crew reunite", "The US Airways crew met again fifteen years later.",
	    "", "us strike", 0 },
	{ "Kenya repays US$2 billion bond", "The treasury paid US$ 2 billion to holders.", "", "us", 0 },
	{ "US imposes new sanctions on Iranian oil exports",
	    "The Treasury Department sanctioned tankers carrying Iranian crude.",
	    "us iran us-iran sanctions", "strike troops", 1 },
	{ "U.S. and Iraqi officials discuss future of coalition",
	    "The talks in Baghdad covered the timetable for the coalition mission.",
	    "us iraq iraq-us diplomacy troops", "iran", 1 },
	/* Washington: the government, the state, the team, a person. */
	{ "Washington warns Tehran over drone attacks on shipping",
	    "Washington said Iranian drones had targeted tankers.", "us iran us-iran strike", "", 1 },
	{ "Washington state braces for floods", "Washington state officials ordered evacuations.",
	    "", "us", 0 },
	{ "Washington Wizards sign veteran guard", "The Washington Wizards signed a guard.", "",
	    "us", 0 },
	{ "Denzel Washington wins lifetime award", "Denzel Washington thanked his family.", "",
	    "us", 0 },
	/* Jordan and Turkey. */
	{ "Michael Jordan's sneakers fetch record price", "Jordan wore them in 1984.", "",
	    "us diplomacy", 0 },
	{ "Jordan's foreign minister holds talks with Iraqi counterpart in Amman",
	    "Jordan's foreign minister met his Iraqi counterpart Fuad Hussein.", "iraq diplomacy",
	    "us", 1 },
	{ "Jordan beat South Korea to reach Asian Cup final",
	    "A stunning strike sent Jordan into the final.", "", "strike diplomacy", 0 },
	{ "Turkey strikes PKK targets in northern Iraq",
	    "Turkish warplanes struck PKK positions in the Kurdistan Region of Iraq.",
	    "iraq strike militia", "us", 1 },
	{ "How to roast a turkey for Thanksgiving", "Brine the turkey overnight.", "",
	    "us strike", 0 },
	/* Strikes: workers, sport, war. */
	{ "Oil workers strike over unpaid wages in Basra",
	    "Hundreds of workers at Basra oilfields went on strike demanding salaries.", "iraq",
	    "strike", 1 },
	{ "Late strike from the striker seals win", "A stunning strike in the 89th minute.", "",
	    "strike", 0 },
	{ "Teachers strike across Iran over pay", "Teachers in Tehran and Isfahan went on strike.",
	    "iran", "strike", 1 },
	{ "US strikes Iran", "", "us iran us-iran strike", "", 1 },
	{ "US strikes deal with Iraq on gas imports", "", "us iraq", "strike", 1 },
	{ "Israeli strikes hit Hezbollah depots in Lebanon",
	    "Warplanes struck weapons depots, the military said.", "strike militia", "iraq iran", 0 },
	/* Sanctions: sports body, regulator, state. */
	{ "FIFA sanctions club over fan violence", "The governing body fined the club.", "",
	    "sanctions", 0 },
	{ "Regulator sanctions bank over compliance failures",
	    "The financial regulator imposed sanctions after an audit.", "", "sanctions", 0 },
	{ "EU extends sanctions on Iran over drone transfers to Russia",
	    "The bloc added Iranian entities to its asset freeze list.", "iran sanctions", "us", 1 },
	/* Talks: business versus diplomacy. */
	{ "Airline in merger talks with rival carrier", "Shares rose on the talks.", "",
	    "diplomacy", 0 },
	{ "Iran and Saudi Arabia hold talks in Baghdad",
	    "Iranian and Saudi delegations met in Baghdad, Iraqi officials said.",
	    "iran iraq iraq-iran diplomacy", "", 1 },
	/* Nuclear: power versus programme. */
	{ "Finland switches on Europe's largest nuclear power reactor",
	    "The reactor will supply the grid with electricity.", "", "nuclear", 0 },
	{ "Iran expands uranium enrichment at Fordow",
	    "The IAEA said Iran installed more centrifuges.", "iran nuclear", "", 1 },
	/* National teams. */
	{ "Iraq beat Saudi Arabia in Gulf Cup final in Basra",
	    "Fans celebrated in Baghdad after Iraq won the Gulf Cup.", "", "iraq", 0 },
	{ "Iran's national football team qualifies for World Cup",
	    "Iran beat Uzbekistan in Tehran to qualify.", "", "iran", 0 },
	/* Transliterations, apostrophes, hyphens and line breaks. */
	{ "Crowds mark anniversary of Qassem Soleimani's killing", "", "iran", "", 1 },
	{ "Crowds mark anniversary of Ghasem Soleimani\xe2\x80\x99s killing", "", "iran", "", 1 },
	{ "Q\xc4\x81sem Soleim\xc4\x81n\xc4\xab remembered in Kerman", "", "iran", "", 1 },
	{ "Sudani meets Biden at the White House",
	    "Prime Minister al-Sudani held talks with President Biden.",
	    "iraq us iraq-us diplomacy", "iran", 1 },
	{ "Budget approved", "Prime Minister Mohammed Shia al-\nSudani welcomed the vote.", "iraq",
	    "", 1 },
	{ "Kataib Hezbollah announces pause in attacks on US forces",
	    "The Iraqi group said it would suspend operations.", "iraq militia us", "", 1 },
	{ "Kata\xe2\x80\x99ib Hezbollah fighters parade", "", "iraq militia", "", 1 },
	{ "Fighters parade", "Thousands of Kata'ib\nHezbollah members marched.", "militia", "", 0 },
	{ "Hashd al-Shaabi commander killed in drone strike near Baghdad", "",
	    "iraq militia strike", "", 1 },
	{ "PMF units redeploy around Kirkuk", "The Popular Mobilisation Forces moved units.",
	    "iraq militia", "", 1 },
	{ "Asa\xe2\x80\x99ib Ahl al-Haq leader warns of retaliation", "Qais al-Khazali spoke.",
	    "iraq militia", "", 1 },
	/* Passing mentions. */
	{ "Iraqi-born chef opens restaurant in Paris",
	    "The chef, who left Baghdad as a child, serves masgouf.", "", "iraq", 0 },
	{ "Iranian-born director wins prize in Venice", "The director lives in Berlin.", "",
	    "iran", 0 },
	/* US domestic and US with Iraq/Iran. */
	{ "Senate confirms new Treasury secretary", "The US Senate voted 68-30.", "us",
	    "iraq iran", 0 },
	{ "National Guard troops deployed to Los Angeles", "President Trump ordered the deployment.",
	    "us", "troops", 0 },
	{ "Trump says he is open to meeting Iran's president",
	    "Trump said he would meet Masoud Pezeshkian.", "us iran us-iran", "", 1 },
	{ "Pentagon sends more troops to Middle East after attacks on US bases in Iraq",
	    "", "us troops iraq iraq-us", "", 1 },
	{ "Rockets hit Ain al-Asad air base", "The base hosts US troops in Anbar.",
	    "iraq us troops strike", "", 1 },
	{ "US Navy seizes Iranian weapons bound for Houthis",
	    "The US Navy said the shipment held Iranian missile parts.",
	    "us iran us-iran militia", "", 1 },
	/* Terrorism. */
	{ "ISIS cell attacks army checkpoint in Diyala",
	    "Islamic State militants killed two Iraqi soldiers.", "iraq terrorism strike",
	    "militia", 1 },
	{ "France arrests suspects in jihadist terror plot", "Counter-terrorism police made arrests.",
	    "terrorism", "iraq iran us", 0 },
	{ "IAEA inspectors return to Iran", "Inspectors from the IAEA arrived in Tehran.",
	    "iran nuclear", "", 1 },
	{ "Khamenei addresses the nation", "", "iran", "us", 1 },
	/* An outlet's name appended to a headline by an aggregator is the source. */
	{ "Heat wave grips southern Spain - Iraqi News", "Iraqi News", "", "iraq", 0 },
	{ "Champions League draw: Real face City - Iran Daily", "", "", "iran", 0 },
	{ "Flooding closes schools in Bavaria - U.S. News & World Report", "", "", "us", 0 },
	{ "Iraq and Iran sign gas deal - Baghdad Post", "", "iraq iran diplomacy", "", 1 },
	/* Real news shapes: the epithet as a noun ("Iran proxy"), a party named after
	 * the country, a mall, a union approving a strike, Washington state's
	 * governor, "met its commitments", sanctions on the trade of a country. */
	{ "Iran proxy Kataib Hezbollah claims rocket attack on US base in Syria", "",
	    "iraq militia strike", "iran", 1 },
	{ "Drones hit camp of the Kurdistan Democratic Party of Iran near Koya", "",
	    "iraq militia", "iran", 1 },
	{ "Shooting at Mall of America leaves one dead",
	    "Police said the suspect fled the shopping centre.", "", "us strike", 0 },
	{ "Machinists vote to authorise strike at aircraft maker",
	    "The union voted 96% in favour of sanctioning a strike.", "", "sanctions strike", 0 },
	{ "Floods force evacuations in western Washington",
	    "Gov. Bob Ferguson declared an emergency as rivers rose.", "", "us", 0 },
	{ "Kurdish premier says Erbil has met its commitments",
	    "The Kurdistan Regional Government met its obligations, the premier said.", "iraq",
	    "diplomacy", 1 },
	{ "Treasury targets Iranian shadow fleet with new designations", "",
	    "us iran us-iran sanctions", "", 1 },
	/* A word's other senses in general news: the British coin, German trains. */
	{ "FTSE 100 closes up; pound gains 2 pence against the dollar", "", "", "us", 0 },
	{ "Pence urges tougher line on Iran", "", "us iran us-iran", "", 1 },
	{ "Deutsche Bahn ICE trains delayed by storm", "", "", "us", 0 },
	/* Birthplaces, private US firms, the US as a market. */
	{ "Baghdad-born sculptor opens show in Rome", "The Baghdad-born artist showed bronze works.",
	    "", "iraq", 0 },
	{ "Kurdish oil deal signed with US firm", "The Kurdistan Regional Government signed with a US firm.",
	    "iraq", "us", 1 },
	{ "Korean carmakers lift sales to the United States", "Exports to the United States rose 9%.",
	    "", "us", 0 },
	/* Not attacks: nature, space launches, accidents, foiled plots. */
	{ "Strong earthquake strikes eastern Turkey", "A magnitude 6.1 quake struck near Malatya.",
	    "", "strike", 0 },
	{ "Iran puts two satellites into orbit with Simorgh rocket",
	    "The rocket was launched from the Semnan space centre.", "iran", "strike", 1 },
	{ "Two Iraqi soldiers die in helicopter crash",
	    "The army said the crash was an accident during a training flight.", "iraq", "strike", 1 },
	{ "Police foil bomb plot against Baghdad church",
	    "Iraqi police arrested three men who were planning a bombing on Christmas Eve.",
	    "iraq terrorism", "strike", 1 },
	/* State forces, state institutions and rhetoric. */
	{ "Basij militia disperse crowds in Rasht", "Members of the Basij militia used batons.",
	    "iran", "militia", 1 },
	{ "Iran's Supreme National Security Council meets", "Ali Larijani chaired the meeting.",
	    "iran", "us", 1 },
	{ "Tehran condemns 'economic terrorism' by Washington", "",
	    "iran us", "terrorism", 1 },
	{ "Security Council votes on Yemen truce monitors",
	    "The UN Security Council extended the mission.", "diplomacy", "us", 0 },
	{ "Turkish troops in Iraq come under fire",
	    "Turkish forces in Iraq said a base near Bashiqa was shelled.", "iraq troops strike", "", 1 },
	/* A raid Central Command announces is its forces' own; a unit's turn abroad. */
	{ "CENTCOM: ISIS cell leader killed in raid in eastern Syria", "", "us troops", "", 0 },
	{ "Army brigade will rotate to Kuwait this spring",
	    "The 1st Armored Division confirmed the move.", "troops", "", 0 },
	/* US forces striking a drug boat are the attackers, not a deployed target. */
	{ "US military hits another alleged drug boat in eastern Pacific",
	    "Hegseth said U.S. forces had struck a vessel operated by a cartel.", "us strike",
	    "troops", 0 },
	/* An armed group named twice late in a long report (each a third) is militia. */
	{ "Shells fall near Sidakan villages",
	    "Shells fell on the outskirts of three border villages on Wednesday morning, burning "
	    "orchards and forcing shepherds to flee with their flocks, local officials said. The "
	    "mayor said at least twenty shells landed between seven and ten in the morning and "
	    "that nobody was hurt, though several houses were damaged and power lines cut. Iran's "
	    "Revolutionary Guards said they had targeted the armed Kurdish opposition party PJAK.",
	    "iraq strike militia", "", 1 },
	/* The SDF as one agenda item of talks; joint patrols agreed between neighbours. */
	{ "Turkish and Syrian foreign ministers meet in Ankara",
	    "They discussed trade, refugees and the integration of the SDF into the Syrian army.",
	    "diplomacy", "militia", 0 },
	{ "Iran and Oman discuss maritime security",
	    "The navy commanders agreed to hold joint patrols against smuggling in the Strait of "
	    "Hormuz.", "iran diplomacy", "troops", 1 },
	/* Telegraphic titles drop the article before the weapon; rocket fire named
	 * as a thing of past years is background. */
	{ "Houthis fire ballistic missile at Ben Gurion airport", "", "strike militia", "", 0 },
	{ "US embassy in Baghdad cuts staff", "The embassy was targeted by rocket fire in past years.",
	    "iraq us", "strike", 1 },
	/* The coalition's epithet names its purpose, not a fight. */
	{ "Coalition hands Victory Base to Iraqi army",
	    "The U.S.-led coalition fighting Islamic State handed its last facilities to the Iraqi "
	    "army on Sunday.", "iraq troops", "strike", 1 },
	/* A state's own drills with its reservists; navies of three states in an exercise;
	 * a party's talks with its own MPs. */
	{ "Taiwan starts Han Kuang drills with record 22,000 reservists", "", "", "troops", 0 },
	{ "Chinese, Russian warships arrive in Chabahar",
	    "Naval units docked at Iran's Chabahar port for the annual trilateral exercise with the "
	    "Iranian navy.", "iran troops", "diplomacy", 1 },
	{ "Starmer allies hold talks with soft-left MPs to head off leadership challenge", "",
	    "", "diplomacy", 0 },
	/* A neighbour's border as a place; a shooting at a party. */
	{ "IRGC Ground Force begins drills in west near Iraqi border", "", "iran", "iraq", 1 },
	{ "Four killed in shooting at birthday party",
	    "A gunman opened fire at a child's birthday party, the county sheriff said.", "",
	    "strike", 0 },
	/* Real news: the uranium trade; acronyms written in title case; a listing and the
	 * attacks it answers; UN experts; a group named with a past date. */
	{ "Kazatomprom to lower uranium production in 2026",
	    "The world's largest producer of natural uranium cut its output plan by 10% as the "
	    "atomic fuel market softened.", "", "nuclear", 0 },
	{ "Isis claims attack on army post in Diyala", "", "iraq strike terrorism", "", 1 },
	{ "US lists Balochistan Liberation Army",
	    "The State Department listed the group as a Foreign Terrorist Organization, citing "
	    "attacks including suicide bombings in Pakistan.", "us terrorism", "strike", 0 },
	{ "Iran executes young protester",
	    "A group of United Nations experts condemned the execution, saying the trial was unfair.",
	    "iran", "diplomacy", 1 },
	{ "US deploys THAAD battery to Israel",
	    "It is the first US troop deployment to Israel since the attacks perpetrated by Hamas on "
	    "October 7, 2023.", "us troops", "militia", 0 },
	{ "Wagner replaced by Russia's Africa Corp in Mali", "", "troops", "militia", 0 },
	/* Accidents, crime and weather; talks that are no diplomacy; an attack a group
	 * claimed although nothing was hit. */
	{ "Two US soldiers killed in vehicle rollover at Camp Buehring, Kuwait", "", "us troops",
	    "strike", 0 },
	{ "Gunman kills three at Minneapolis bus shelter; police see no terror link", "", "",
	    "strike terrorism", 0 },
	{ "Gunman kills four at Texas outlet mall before police shoot him", "", "", "strike", 0 },
	{ "Lightning kills two shepherds in Kurdistan Region's Soran district", "", "",
	    "iraq strike", 0 },
	{ "Carney, premiers meet in Ottawa on internal trade barriers", "", "", "diplomacy", 0 },
	{ "Drone attack targets US forces at Erbil air base",
	    "Two drones targeted the base. One was shot down and the other crashed, causing no "
	    "casualties or damage. The Islamic Resistance in Iraq claimed the attack.",
	    "iraq us strike troops", "", 1 },
	/* An attack named as the ground of a judgment or a listing; Erbil-Baghdad
	 * dealings under their headline; the centre that monitors a truce. */
	{ "Judge orders Iran to pay $312m to families of contractors killed in Erbil airport attack",
	    "A federal judge entered a default judgment against Iran for the rocket attack that "
	    "killed two contractors.", "iran", "strike", 1 },
	{ "US designates Iraq's Saraya Awliya al-Dam as terrorist group",
	    "The designation cites drone attacks on US forces in Iraq and Syria.", "iraq us terrorism",
	    "strike", 1 },
	{ "Erbil and Baghdad agree funding for October salaries",
	    "Finance officials reached the deal after a week of talks in Baghdad.", "iraq", "diplomacy",
	    1 },
	{ "US troops arrive in Israel to staff Gaza truce coordination center",
	    "The Civil-Military Coordination Center will monitor the Gaza ceasefire, CENTCOM said.",
	    "us troops", "diplomacy", 0 },
	/* A data agency quoted for a forecast; an attack in spite of a truce; a bomb at
	 * a rally; an execution for past bombings. */
	{ "NOAA: La Nina likely to fade by spring", "", "", "us", 0 },
	{ "Israel strikes Hezbollah sites in south Lebanon despite truce", "", "strike militia", "",
	    0 },
	{ "Bomb at Quetta rally kills 15", "", "strike", "", 0 },
	{ "Two hanged over Kerman memorial bombings, judiciary says", "", "iran", "strike", 1 },
	/* An ordered departure of embassy staff; exports made despite sanctions. */
	{ "State orders non-emergency staff out of Baghdad embassy, Erbil consulate",
	    "The State Department ordered the departure of non-emergency staff from the embassy in "
	    "Baghdad and the consulate in Erbil, citing regional tension.", "iraq us", "diplomacy", 1 },
	{ "Iran's crude exports to China hit 1.8m bpd despite sanctions", "", "iran", "sanctions", 1 },
	/* A deadly attack with no attacker named, but not an animal's; a spoken
	 * acronym in title case. */
	{ "75 killed in attack on mosque in Darfur city", "", "strike", "", 0 },
	{ "Child killed in dog attack in Ohio park", "", "", "strike", 0 },
	{ "Monusco withdrawal from Congo begins", "", "troops", "", 0 },
	/* Another state's security council; a missile test into the sea; a sports
	 * body's ban; talks on buying jets; another power's bases abroad. */
	{ "Iraqi National Security Council bans PKK after talks with Turkey", "", "iraq", "us", 1 },
	{ "North Korea fires a ballistic missile toward sea, Seoul says", "", "", "strike", 0 },
	{ "World Judo Federation bans Iran over refusal to face Israel", "", "", "iran", 0 },
	{ "UAE suspends talks with US on F-35 jets", "", "us", "diplomacy", 0 },
	{ "Russian envoy in Damascus for talks on the fate of Moscow's bases in Syria", "", "troops",
	    "", 0 },
	/* Feed-length real news: a travel advisory's risks, a state's scare-quoted label,
	 * rebuilding after a war, the war-powers fight, a mission opened, a foreign
	 * ministry urging a reversal, a strike a month past. */
	{ "State Department raises Iran travel advisory to Level 4",
	    "The travel advisory adds the risks of terrorism and kidnapping.", "us iran", "terrorism", 1 },
	{ "Azerbaijan launches \"anti-terrorist\" operation in Karabakh", "", "", "terrorism", 0 },
	{ "Mosul rebuilding 546 homes destroyed in ISIS war", "", "iraq", "terrorism", 1 },
	{ "Senate panel advances repeal of Iraq war powers",
	    "Democrats seek to reclaim congressional say over U.S. military strikes and deployments.",
	    "", "strike", 1 },
	{ "Saudi Arabia opens consulate in Baghdad in sign of warmer ties", "", "iraq diplomacy", "",
	    1 },
	{ "Iraq urges U.S. to reconsider pardon for Blackwater contractors",
	    "The Iraqi Ministry of Foreign Affairs urged the United States to reconsider the pardons.",
	    "iraq us diplomacy", "", 1 },
	{ "Hezbollah names new leader",
	    "He succeeds Hassan Nasrallah, who died in an Israeli airstrike over a month ago.",
	    "militia", "strike", 0 },
	/* "Paramilitary" alone names no group (here Iran's Basij). */
	{ "Iran hangs protester convicted of wounding a paramilitary member", "", "iran", "militia",
	    1 },
	/* "Sanction" as approve, spelled out as literals (they were regexes). */
	{ "Council sanctions \xc2\xa3" "2m upgrade of river bridge", "", "", "sanctions", 0 },
	{ "Iraqi cabinet sanctions 3 trillion dinars for Basra water projects",
	    "The cabinet sanctioned the spending in Tuesday's session.", "iraq", "sanctions", 1 },
	{ "Iranian navy's 106th flotilla docks in Oman after Gulf of Aden mission", "",
	    "iran troops", "", 1 },
	/* A clash at a place in Iran is on Iran's territory, whoever fought. */
	{ "Three policemen die in gun battle", "Gunmen opened fire on a police checkpoint in "
	    "Sistan and Baluchestan on Monday night, local media reported.", "iran strike", "", 1 },
};

static int
has_tag(const char *name)
{
	return tg_result_find(&res, name) != NULL;
}

/* Check each space-separated tag in list is present (want) or absent. */
static int
check_list(const char *list, int want, char *why, size_t whylen)
{
	char name[TG_TAG_NAME_MAX];
	const char *p = list;

	while (*p) {
		size_t n = strcspn(p, " ");

		if (n > 0 && n < sizeof(name)) {
			memcpy(name, p, n);
			name[n] = '\0';
			if (has_tag(name) != want) {
				snprintf(why, whylen, "%s %s", want ? "missing" : "unexpected", name);
				return -1;
			}
		}
		p += n;
		while (*p == ' ')
			p++;
	}
	return 0;
}

static void
test_hard_cases(void **state)
{
	int bad = 0;

	(void)state;
	assert_true(sizeof(cases) / sizeof(cases[0]) >= 40);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct hard_case *hc = &cases[i];
		char why[128] = "";

		run(deflt, hc->title, hc->body);
		if (check_list(hc->want, 1, why, sizeof(why)) == 0 &&
		    check_list(hc->forbid, 0, why, sizeof(why)) == 0 &&
		    res.relevant != hc->relevant)
			snprintf(why, sizeof(why), "relevant is %d", res.relevant);
		if (why[0]) {
			fprintf(stderr, "case %zu \"%s\": %s (tags:", i, hc->title, why);
			for (uint32_t k = 0; k < res.ntags; k++)
				fprintf(stderr, " %s=%.1f", res.tags[k].name, res.tags[k].score);
			fprintf(stderr, ")\n");
			bad++;
		}
	}
	assert_int_equal(bad, 0);
}

/* The original bytes of evidence e of field text. */
static void
evidence_text(const struct tg_evidence *e, const char *text, char *out, size_t outlen)
{
	size_t n = e->end - e->start;

	assert_true(e->end >= e->start && n < outlen && e->end <= strlen(text));
	memcpy(out, text + e->start, n);
	out[n] = '\0';
}

static int
find_evidence(const char *tag, const char *rule, enum tg_field field, const char *text,
    const char *want)
{
	const struct tg_tag *t = tg_result_find(&res, tag);
	char got[256];

	if (t == NULL)
		return 0;
	for (uint32_t i = 0; i < t->nevidence; i++) {
		if (t->evidence[i].field != field || strcmp(t->evidence[i].rule, rule) != 0)
			continue;
		evidence_text(&t->evidence[i], text, got, sizeof(got));
		if (strcmp(got, want) == 0)
			return 1;
	}
	return 0;
}

static void
test_evidence_offsets(void **state)
{
	const char *title = "US drone strike kills Kata\xe2\x80\x99ib Hezbollah commander in Baghdad";
	const char *body = "Officials said Q\xc4\x81sem Soleim\xc4\x81n\xc4\xab\xe2\x80\x99s "
	    "successor met Mohammed Shia al-\n  Sudani and the Hashd\nal-Shaabi.";

	(void)state;
	run(deflt, title, body);
	assert_true(find_evidence("militia", "iraq.militia", TG_FIELD_TITLE, title,
	    "Kata\xe2\x80\x99ib Hezbollah"));
	assert_true(find_evidence("us", "us.gov", TG_FIELD_TITLE, title, "US drone"));
	assert_true(find_evidence("iraq", "iraq.capital", TG_FIELD_TITLE, title, "Baghdad"));
	assert_true(find_evidence("strike", "strike.strong", TG_FIELD_TITLE, title, "drone strike"));
	assert_true(find_evidence("iran", "iran.officials", TG_FIELD_SUMMARY, body,
	    "Q\xc4\x81sem Soleim\xc4\x81n\xc4\xab"));
	assert_true(find_evidence("iraq", "iraq.officials", TG_FIELD_SUMMARY, body,
	    "Mohammed Shia al-\n  Sudani"));
	assert_true(find_evidence("iraq", "iraq.militia", TG_FIELD_SUMMARY, body,
	    "Hashd\nal-Shaabi"));
	/* Every piece of evidence of every tag lies inside its field. */
	for (uint32_t i = 0; i < res.ntags; i++)
		for (uint32_t k = 0; k < res.tags[i].nevidence; k++) {
			const struct tg_evidence *e = &res.tags[i].evidence[k];
			size_t flen = e->field == TG_FIELD_TITLE ? strlen(title) : strlen(body);

			assert_true(e->start < e->end && e->end <= flen);
		}
	assert_true(res.tags[0].threshold > 0);
}

static void
test_categories_field(void **state)
{
	struct tg_classify_input in = { "Weekly roundup", 14, "", 0, "Iraq\nIran\nnuclear talks", 23 };
	char err[128];

	(void)state;
	assert_int_equal(tg_classify(deflt, &in, &res, err, sizeof(err)), 0);
	assert_true(find_evidence("nuclear", "nuclear.strong", TG_FIELD_CATEGORY, in.categories,
	    "nuclear talks"));
}

/* An alias written under two terms is scanned once and counts for both; a veto
 * of one term leaves the other's match alone. */
static void
test_shared_aliases(void **state)
{
	struct tg_classifier *c = load_text(
	    "tag a actor 3\n"
	    "tag t topic 3\n"
	    "term one a 3\n"
	    "    Delta | Delta\n"
	    "term two t 3\n"
	    "    delta\n"
	    "term ctx\n"
	    "    river\n"
	    "veto two NEAR/10 ctx\n");
	const struct tg_tag *t;

	(void)state;
	run(c, "", "Delta");
	assert_true(score("a") == 3.0f);
	assert_true(score("t") == 3.0f);
	t = tg_result_find(&res, "a");
	assert_non_null(t);
	assert_int_equal(t->nevidence, 1); /* the same alias twice is one match */
	run(c, "", "the Delta river");
	assert_true(score("a") == 3.0f);
	assert_true(score("t") < 0);
	tg_classifier_free(c);
}

/* Matching in word symbols (lexicon.c): case-sensitive aliases next to
 * caseless ones with the same letters, stems, punctuation, whole words only. */
static void
test_symbol_matching(void **state)
{
	struct tg_classifier *c = load_text(
	    "tag a actor 3\n"
	    "tag t topic 3\n"
	    "tag p topic 3\n"
	    "tag d topic 3\n"
	    "term abbr a 3\n"
	    "    =US | U.S.\n"
	    "term forces t 3\n"
	    "    us forces | Kata'ib Hezbollah\n"
	    "term deploy p 3\n"
	    "    deploy*\n"
	    "term deployment d 3\n"
	    "    deployment | deployments\n");

	(void)state;
	run(c, "", "US forces");
	assert_true(score("a") == 3.0f);
	assert_true(score("t") == 3.0f);
	run(c, "", "us forces and Us");
	assert_true(score("a") < 0);
	assert_true(score("t") == 3.0f);
	run(c, "", "USA and AUS, U.S-led, U.S");
	assert_true(score("a") < 0);
	run(c, "", "a U.S.-led force");
	assert_true(score("a") == 3.0f);
	run(c, "", "Kataib Hezbollah and KATA\xe2\x80\x99IB HEZBOLLAH");
	assert_true(score("t") == 6.0f);
	run(c, "", "Kata'ib. Hezbollah");
	assert_true(score("t") < 0);
	/* A stem matches the word itself, longer words, and words another alias
	 * has, in any case; not a word that only contains it. */
	run(c, "", "Deployments");
	assert_true(score("p") == 3.0f);
	assert_true(score("d") == 3.0f);
	run(c, "", "redeployed");
	assert_true(score("p") < 0);
	run(c, "", "deploy, deployed");
	assert_true(score("p") == 6.0f);
	tg_classifier_free(c);
}

/* Aliases of one term on the same words are one match whatever order they are
 * found in, and a regex alias's matches take their place among a literal's in
 * order of end (a NEAR rule looks at them in that order). */
static void
test_match_order(void **state)
{
	struct tg_classifier *c = load_text(
	    "tag a actor 1\n"
	    "tag t topic 3\n"
	    "term place a 1\n"
	    "    Sistan | Baluchestan | Sistan and Baluchestan\n"
	    "term word\n"
	    "    word\n"
	    "term ctx\n"
	    "    zeta\n"
	    "    /be+ta/\n"
	    "rule t.near t 3 = word NEAR/5 ctx\n");
	const struct tg_tag *t;

	(void)state;
	run(c, "", "in Sistan and Baluchestan province");
	t = tg_result_find(&res, "a");
	assert_non_null(t);
	assert_true(t->score == 1.0f);
	assert_int_equal(t->nevidence, 1);
	run(c, "", "beeta word, and a good while later, zeta, and later still, zeta");
	assert_true(score("t") == 3.0f);
	run(c, "", "zeta, and a good while later, word beeeta");
	assert_true(score("t") == 3.0f);
	run(c, "", "beeta and then word and later zeta");
	assert_true(score("t") < 0);
	tg_classifier_free(c);
}

/* Contexts: a rule or veto whose context is absent does nothing, AND does not
 * count the anchor itself, and NEAR finds a long context that starts close
 * but ends far away. */
static void
test_contexts(void **state)
{
	struct tg_classifier *c = load_text(
	    "tag t topic 3\n"
	    "tag u topic 3\n"
	    "term word\n"
	    "    word\n"
	    "term long\n"
	    "    a very long phrase that goes on and on well past the window of the rule\n"
	    "term other\n"
	    "    other\n"
	    "rule t.near t 3 = word NEAR/5 long\n"
	    "rule u.and u 3 = word AND word|other\n");

	(void)state;
	run(c, "", "word a very long phrase that goes on and on well past the window of the rule");
	assert_true(score("t") == 3.0f);
	run(c, "", "word then a very long phrase that goes on and on well past the window of the rule");
	assert_true(score("t") < 0);
	run(c, "", "a lone word");
	assert_true(score("u") < 0);
	run(c, "", "word and word");
	assert_true(score("u") == 6.0f);
	run(c, "", "word and other");
	assert_true(score("u") == 3.0f);
	run(c, "other", "word");
	assert_true(score("u") == 3.0f);
	tg_classifier_free(c);
}

int
main(void)
{
	const struct CMUnitTest mini_tests[] = {
		cmocka_unit_test(test_weights_fields_repeat),
		cmocka_unit_test(test_field_later_weight),
		cmocka_unit_test(test_field_later_actor_weight),
		cmocka_unit_test(test_rules_vetoes_dyads),
		cmocka_unit_test(test_near_wants_other_words),
		cmocka_unit_test(test_version_and_empty),
		cmocka_unit_test(test_near_misses),
		cmocka_unit_test(test_bad_patterns_reported),
		cmocka_unit_test(test_shared_aliases),
		cmocka_unit_test(test_contexts),
		cmocka_unit_test(test_symbol_matching),
		cmocka_unit_test(test_match_order),
	};
	const struct CMUnitTest default_tests[] = {
		cmocka_unit_test(test_hard_cases),
		cmocka_unit_test(test_evidence_offsets),
		cmocka_unit_test(test_categories_field),
	};
	int rc;

	rc = cmocka_run_group_tests_name("semantics", mini_tests, NULL, NULL);
	rc += cmocka_run_group_tests_name("default taxonomy", default_tests, setup_default,
	    teardown_default);
	return rc;
}
