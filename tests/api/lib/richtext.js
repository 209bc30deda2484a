'use strict';
// Rich text that every html_* field must reject: markup a client would run
// as script, and markup that is not well-formed. Each case pairs the text
// with a pattern the error message must match, so the message names the
// offending tag, attribute or problem.

const UNSAFE_RICH_TEXT = [
	['<body><script>alert(1)</script></body>', /tag <script> is not supported/],
	['<body><script>alert(1)</script><img src=x onerror=alert(2)></body>', /tag <script> is not supported/],
	['<body><img src="x" onerror="alert(2)"/></body>', /tag <img> is not supported/],
	['<body><a href="javascript:alert(1)">x</a></body>', /href must start with https/],
	['<body><a href="https://example.test" onclick="alert(1)">x</a></body>', /attribute onclick is not allowed/],
	['<body><em style="color: red">x</em></body>', /attribute style is not allowed/],
	['<body><iframe src="https://example.test"></iframe></body>', /tag <iframe> is not supported/],
	['<body><b>x</body>', /tag <b> is not supported/],
	['<body><strong>x</body>', /<\/body> does not close <strong>/],
	['<body><strong>x</strong>', /<body> is not closed/],
	['<body>a & b</body>', /invalid character reference/],
	['<body>a</body><script>alert(1)</script>', /tag <script> is not supported/],
];

module.exports = { UNSAFE_RICH_TEXT };
