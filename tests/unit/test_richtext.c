/*
 * Tests of src/api/richtext.c, the allow-list check and the plain-text
 * conversions behind every html_* field (comments, task and project notes,
 * team descriptions). The API tests cover the same rules per field; these
 * cases pin the parser itself, including the inputs a stored-script attack
 * would send.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/richtext.h"

static const char *const valid_everywhere[] = {
	"<body></body>",
	"<body>plain</body>",
	"  <body>space around the root is allowed</body>\n",
	"<body><strong>b</strong> <em>i</em> <u>u</u> <s>s</s> <code>c</code></body>",
	"<body><a href=\"https://example.com/x?a=1&amp;b=2\">link</a></body>",
	"<body><a href='mailto:a@example.com'>mail</a></body>",
	"<body><a data-asana-gid=\"12345\"/></body>",
	"<body><ul><li>one</li><li>two</li></ul><ol><li>x</li></ol></body>",
	"<body><blockquote>q</blockquote><pre>p</pre><hr/><br/>after</body>",
	"<body>&lt;&gt;&amp;&quot;&apos;&#65;&#x42;</body>",
};

/* Each invalid input with a piece of the message a user needs to fix it. */
static const struct {
	const char *html;
	const char *message;
} invalid_everywhere[] = {
	{ "", "<body> is not closed" },
	{ "plain", "outside <body>" },
	{ "<body><script>alert(1)</script></body>", "<script>" },
	{ "<body><img src=\"x\" onerror=\"alert(2)\"/></body>", "<img>" },
	{ "<body><a href=\"javascript:alert(1)\">x</a></body>", "href must start with" },
	{ "<body><a href=\" javascript:alert(1)\">x</a></body>", "href must start with" },
	{ "<body><a href=\"&#106;avascript:alert(1)\">x</a></body>", "href must start with" },
	{ "<body><a href=\"data:text/html,x\">x</a></body>", "href must start with" },
	{ "<body><a href=\"https://x\" onclick=\"alert(1)\">x</a></body>", "attribute onclick" },
	{ "<body><strong style=\"color:red\">x</strong></body>", "attribute style" },
	{ "<body><a href=https://x>x</a></body>", "must be quoted" },
	{ "<body><a href=\"https://x>x</a></body>", "no closing quote" },
	{ "<body><strong>x</body>", "</body> does not close <strong>" },
	{ "<body><strong>x</strong>", "<body> is not closed" },
	{ "<body><em>x</em></strong></body>", "</strong> does not close <body>" },
	{ "<body>a</body><body>b</body>", "one <body>" },
	{ "<body><body>x</body></body>", "cannot be nested" },
	{ "<BODY>x</BODY>", "tag <BODY> is not supported" },
	{ "<body><SCRIPT>x</SCRIPT></body>", "tag <SCRIPT> is not supported" },
	{ "<body><!-- x --></body>", "<!>" },
	{ "<body><?php x ?></body>", "<?>" },
	{ "<body>a & b</body>", "character reference" },
	{ "<body>&nbsp;</body>", "character reference" },
	{ "<body>&#0;</body>", "character reference" },
	{ "<body>&#xD800;</body>", "character reference" },
	{ "<body>&#x110000;</body>", "character reference" },
	{ "<body><iframe src=\"https://x\"></iframe></body>", "<iframe>" },
	{ "<body><style>x</style></body>", "<style>" },
};

static void richtext_valid_cases(void **state)
{
	char err[256];

	(void)state;
	for (size_t i = 0; i < sizeof(valid_everywhere) / sizeof(valid_everywhere[0]); i++) {
		if (richtext_check(valid_everywhere[i], RICHTEXT_COMMENT, err, sizeof(err)) != 0)
			fail_msg("comment rules rejected \"%s\": %s", valid_everywhere[i], err);
		if (richtext_check(valid_everywhere[i], RICHTEXT_NOTES, err, sizeof(err)) != 0)
			fail_msg("notes rules rejected \"%s\": %s", valid_everywhere[i], err);
	}
}

static void richtext_invalid_cases(void **state)
{
	char err[256];

	(void)state;
	for (size_t i = 0; i < sizeof(invalid_everywhere) / sizeof(invalid_everywhere[0]); i++) {
		for (int kind = RICHTEXT_COMMENT; kind <= RICHTEXT_NOTES; kind++) {
			err[0] = '\0';
			if (richtext_check(invalid_everywhere[i].html, (enum richtext_kind)kind, err, sizeof(err)) != -1)
				fail_msg("accepted \"%s\" (kind %d)", invalid_everywhere[i].html, kind);
			if (strstr(err, invalid_everywhere[i].message) == NULL)
				fail_msg("message for \"%s\" is \"%s\", expected it to contain \"%s\"",
					 invalid_everywhere[i].html, err, invalid_everywhere[i].message);
		}
		assert_null(richtext_to_text(invalid_everywhere[i].html));
	}
}

static void richtext_headings_only_in_notes(void **state)
{
	const char *html = "<body><h1>Title <strong>bold</strong></h1><h2>Sub</h2>text</body>";
	char err[256];

	(void)state;
	assert_int_equal(richtext_check(html, RICHTEXT_NOTES, err, sizeof(err)), 0);
	assert_int_equal(richtext_check(html, RICHTEXT_COMMENT, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "tag <h1> is not supported"));

	/* A heading holds inline content only. */
	assert_int_equal(richtext_check("<body><h1><ul><li>x</li></ul></h1></body>", RICHTEXT_NOTES, err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "<ul> is not allowed inside <h1>"));
	assert_int_equal(richtext_check("<body><h2>a<br/>b</h2></body>", RICHTEXT_NOTES, err, sizeof(err)), -1);
	assert_int_equal(richtext_check("<body><h1><h2>x</h2></h1></body>", RICHTEXT_NOTES, err, sizeof(err)), -1);
}

static void richtext_lists_allowed_tags(void **state)
{
	char err[256];

	(void)state;
	assert_int_equal(richtext_check("<body><b>x</b></body>", RICHTEXT_COMMENT, err, sizeof(err)), -1);
	assert_string_equal(err, "tag <b> is not supported; use only body, strong, em, u, s, code, a, pre, "
				 "blockquote, ol, ul, li, hr and br");
	assert_int_equal(richtext_check("<body><b>x</b></body>", RICHTEXT_NOTES, err, sizeof(err)), -1);
	assert_string_equal(err, "tag <b> is not supported; use only body, strong, em, u, s, code, a, pre, "
				 "blockquote, ol, ul, li, hr, br, h1 and h2");
}

static void richtext_nesting_limit(void **state)
{
	char html[1024];
	char err[256];
	size_t used = 0;

	(void)state;
	used += (size_t)snprintf(html + used, sizeof(html) - used, "<body>");
	for (int i = 0; i < 40; i++)
		used += (size_t)snprintf(html + used, sizeof(html) - used, "<em>");
	assert_int_equal(richtext_check(html, RICHTEXT_NOTES, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "nested more than"));
}

static void richtext_text_conversion(void **state)
{
	static const struct {
		const char *html;
		const char *text;
	} cases[] = {
		{ "<body>Hello <strong>you</strong> &amp; me</body>", "Hello you & me" },
		{ "<body><ul><li>one</li><li>two</li></ul>after</body>", "one\ntwo\nafter" },
		{ "<body><h1>Title</h1>body text</body>", "Title\nbody text" },
		{ "<body>a<br/>b<hr/>c</body>", "a\nb\nc" },
		{ "<body>see <a data-asana-gid=\"1\" href=\"https://example.com\"/></body>", "see https://example.com" },
		{ "<body>&#xE9;&#233;  </body>", "\xC3\xA9\xC3\xA9" },
		{ "<body></body>", "" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *text = richtext_to_text(cases[i].html);

		if (text == NULL)
			fail_msg("no text for \"%s\"", cases[i].html);
		if (strcmp(text, cases[i].text) != 0)
			fail_msg("\"%s\" gave \"%s\", expected \"%s\"", cases[i].html, text, cases[i].text);
		free(text);
	}
}

static void richtext_from_text_round_trip(void **state)
{
	const char *text = "a < b & \"c\" > d\nline 2";
	char err[256];
	char *html;
	char *back;

	(void)state;
	html = richtext_from_text(text);
	assert_non_null(html);
	assert_string_equal(html, "<body>a &lt; b &amp; &quot;c&quot; &gt; d\nline 2</body>");
	assert_int_equal(richtext_check(html, RICHTEXT_COMMENT, err, sizeof(err)), 0);
	back = richtext_to_text(html);
	assert_non_null(back);
	assert_string_equal(back, text);
	free(back);
	free(html);

	html = richtext_from_text("");
	assert_string_equal(html, "<body></body>");
	free(html);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(richtext_valid_cases),
		cmocka_unit_test(richtext_invalid_cases),
		cmocka_unit_test(richtext_headings_only_in_notes),
		cmocka_unit_test(richtext_lists_allowed_tags),
		cmocka_unit_test(richtext_nesting_limit),
		cmocka_unit_test(richtext_text_conversion),
		cmocka_unit_test(richtext_from_text_round_trip),
	};

	return cmocka_run_group_tests_name("richtext", tests, NULL, NULL);
}
