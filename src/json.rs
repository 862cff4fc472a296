//! The little JSON the widget reads and writes itself: its stored outbox entries, and the
//! records it builds. Pure Rust with no JS, so it runs (and is fuzzed) natively as well as in
//! the browser.
//!
//! Size: `serde_json` in the wasm costs several KB brotli, and reading through `JSON.parse` and
//! `Reflect` costs an import and glue per property; this reader is a few hundred bytes of code.
//!
//! The reader accepts exactly what `JSON.parse` accepts, with one difference: an escaped lone
//! surrogate (`"\ud800"`), which `JSON.stringify` may write and a Rust string cannot hold, reads
//! as U+FFFD in a decoded string and stays as written in a raw value.

/// Appends `text` to `out` as a JSON string.
pub fn push_string(out: &mut String, text: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push('"');
    for character in text.chars() {
        match character {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            control
                if u32::from(control) < 0x20 || control == '\u{2028}' || control == '\u{2029}' =>
            {
                let code = u32::from(control) as usize;
                out.push_str("\\u");
                for shift in [12, 8, 4, 0] {
                    out.push(char::from(HEX[(code >> shift) & 0xf]));
                }
            }
            other => out.push(other),
        }
    }
    out.push('"');
}

/// The largest whole number an `f64` holds exactly: 2^53 milliseconds are 285,000 years.
const MAX_EXACT: f64 = 9_007_199_254_740_992.0;

/// Appends `value` to `out` as a JSON number, as a whole number within ±2^53, which reads back
/// exactly: the widget stores times in Unix milliseconds and counts. NaN is written as 0.
pub fn push_number(out: &mut String, value: f64) {
    // `as` turns NaN into 0.
    let value = value.clamp(-MAX_EXACT, MAX_EXACT) as i64;
    if value < 0 {
        out.push('-');
    }
    // Size: digits by hand rather than through `Display`, about 400 bytes less.
    let mut magnitude = value.unsigned_abs();
    let mut digits = [0_u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (magnitude % 10) as u8;
        magnitude /= 10;
        if magnitude == 0 {
            break;
        }
    }
    for digit in &digits[at..] {
        out.push(char::from(*digit));
    }
}

/// The members of the JSON object that is the whole of `text`, each as its decoded key and the
/// raw text of its value; `None` unless `text` is one valid JSON object (with blanks around it
/// at most). A key written twice is listed twice, in order.
pub fn members(text: &str) -> Option<Vec<(String, &str)>> {
    let mut reader = Reader { text, at: 0 };
    reader.blank();
    reader.eat(b'{').then_some(())?;
    let mut members = Vec::new();
    reader.blank();
    if !reader.eat(b'}') {
        loop {
            reader.blank();
            let key = reader.string()?;
            reader.blank();
            reader.eat(b':').then_some(())?;
            reader.blank();
            let start = reader.at;
            reader.value()?;
            members.push((key, &text[start..reader.at]));
            reader.blank();
            if reader.eat(b'}') {
                break;
            }
            reader.eat(b',').then_some(())?;
        }
    }
    reader.blank();
    (reader.at == text.len()).then_some(members)
}

/// The string that `raw` (one JSON value) is, decoded; `None` for any other value.
pub fn string(raw: &str) -> Option<String> {
    let mut reader = Reader { text: raw, at: 0 };
    let value = reader.string()?;
    (reader.at == raw.len()).then_some(value)
}

/// The number that `raw` (one JSON value) is; `None` for any other value, and for a number too
/// large for an `f64` written with too many digits to be read (which `JSON.parse` reads as
/// infinite). Whole numbers up to 2^53 are exact; others are near enough for times and counts.
pub fn number(raw: &str) -> Option<f64> {
    let mut reader = Reader { text: raw, at: 0 };
    let value = reader.number()?;
    (reader.at == raw.len() && !value.is_nan()).then_some(value)
}

/// Whether `raw` (one JSON value) is an object.
pub fn is_object(raw: &str) -> bool {
    raw.starts_with('{')
}

/// A position in a JSON text.
struct Reader<'a> {
    text: &'a str,
    at: usize,
}

impl Reader<'_> {
    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.at).copied()
    }

    fn eat(&mut self, byte: u8) -> bool {
        let found = self.peek() == Some(byte);
        if found {
            self.at += 1;
        }
        found
    }

    fn blank(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.at += 1;
        }
    }

    fn literal(&mut self, word: &str) -> Option<()> {
        let found = self.text[self.at..].starts_with(word);
        if found {
            self.at += word.len();
        }
        found.then_some(())
    }

    /// Four hex digits of a `\u` escape.
    fn hex4(&mut self) -> Option<u32> {
        let mut code = 0;
        for _ in 0..4 {
            // Size: by hand rather than `u32::from_str_radix`, about 350 bytes less.
            let digit = match self.peek()? {
                byte @ b'0'..=b'9' => byte - b'0',
                byte @ b'a'..=b'f' => byte - b'a' + 10,
                byte @ b'A'..=b'F' => byte - b'A' + 10,
                _ => return None,
            };
            code = code * 16 + u32::from(digit);
            self.at += 1;
        }
        Some(code)
    }

    /// A string, decoded.
    fn string(&mut self) -> Option<String> {
        self.eat(b'"').then_some(())?;
        let mut out = String::new();
        loop {
            let rest = &self.text[self.at..];
            // The plain run up to the next quote, backslash or control character.
            let run = rest
                .bytes()
                .position(|byte| byte == b'"' || byte == b'\\' || byte < 0x20)?;
            out.push_str(&rest[..run]);
            self.at += run;
            match self.peek()? {
                b'"' => {
                    self.at += 1;
                    return Some(out);
                }
                b'\\' => {
                    self.at += 1;
                    let escaped = self.peek()?;
                    self.at += 1;
                    out.push(match escaped {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => self.unicode_escape()?,
                        _ => return None,
                    });
                }
                _ => return None,
            }
        }
    }

    /// The character of a `\u` escape whose `\u` was read, with the low half of a surrogate
    /// pair when one follows.
    fn unicode_escape(&mut self) -> Option<char> {
        let first = self.hex4()?;
        if (0xd800..0xdc00).contains(&first) && self.text[self.at..].starts_with("\\u") {
            let before = self.at;
            self.at += 2;
            let second = self.hex4()?;
            if (0xdc00..0xe000).contains(&second) {
                let code = 0x10000 + ((first - 0xd800) << 10) + (second - 0xdc00);
                return char::from_u32(code);
            }
            // Not a pair: the second escape stands alone and is read on its own.
            self.at = before;
        }
        Some(char::from_u32(first).unwrap_or('\u{fffd}'))
    }

    /// A number, by JSON's grammar.
    fn number(&mut self) -> Option<f64> {
        let negative = self.eat(b'-');
        let mut value = 0.0_f64;
        match self.peek()? {
            b'0' => self.at += 1,
            b'1'..=b'9' => {
                while let Some(digit @ b'0'..=b'9') = self.peek() {
                    value = value * 10.0 + f64::from(digit - b'0');
                    self.at += 1;
                }
            }
            _ => return None,
        }
        if self.eat(b'.') {
            let mut scale = 1.0;
            let mut any = false;
            while let Some(digit @ b'0'..=b'9') = self.peek() {
                scale /= 10.0;
                value += f64::from(digit - b'0') * scale;
                self.at += 1;
                any = true;
            }
            any.then_some(())?;
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.at += 1;
            let negative_exponent = self.eat(b'-');
            if !negative_exponent {
                self.eat(b'+');
            }
            let mut exponent = 0_i32;
            let mut any = false;
            while let Some(digit @ b'0'..=b'9') = self.peek() {
                exponent = exponent
                    .saturating_mul(10)
                    .saturating_add(i32::from(digit - b'0'));
                self.at += 1;
                any = true;
            }
            any.then_some(())?;
            // Zero stays zero, where `0 × ∞` would be NaN.
            if value != 0.0 {
                value *= 10_f64.powi(if negative_exponent {
                    -exponent
                } else {
                    exponent
                });
            }
        }
        Some(if negative { -value } else { value })
    }

    /// Any one value, nested as deep as it goes, without recursion: `stack` holds the open
    /// objects (`{`) and arrays (`[`).
    fn value(&mut self) -> Option<()> {
        let mut stack = Vec::new();
        loop {
            self.blank();
            match self.peek()? {
                b'{' => {
                    self.at += 1;
                    self.blank();
                    if !self.eat(b'}') {
                        stack.push(b'{');
                        self.key()?;
                        continue;
                    }
                }
                b'[' => {
                    self.at += 1;
                    self.blank();
                    if !self.eat(b']') {
                        stack.push(b'[');
                        continue;
                    }
                }
                b'"' => {
                    self.string()?;
                }
                b't' => self.literal("true")?,
                b'f' => self.literal("false")?,
                b'n' => self.literal("null")?,
                _ => {
                    self.number()?;
                }
            }
            // A value ended: close what it ends, or go on to the next member or item.
            loop {
                // The value's raw text ends here, without the blanks after it.
                let Some(&open) = stack.last() else {
                    return Some(());
                };
                self.blank();
                let close = if open == b'{' { b'}' } else { b']' };
                if self.eat(close) {
                    stack.pop();
                } else {
                    self.eat(b',').then_some(())?;
                    if open == b'{' {
                        self.blank();
                        self.key()?;
                    }
                    break;
                }
            }
        }
    }

    /// A member's key and its colon.
    fn key(&mut self) -> Option<()> {
        self.string()?;
        self.blank();
        self.eat(b':').then_some(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_members_of_an_object_with_their_raw_values() {
        let text = r#" {"a": "x\"y", "b":[1, {"c": null}] ,"d":-1.5e2,"e":{}} "#;
        let read = members(text).unwrap();
        let keys: Vec<&str> = read.iter().map(|(key, _)| key.as_str()).collect();
        assert_eq!(keys, ["a", "b", "d", "e"]);
        assert_eq!(read[0].1, r#""x\"y""#);
        assert_eq!(string(read[0].1).unwrap(), "x\"y");
        assert_eq!(read[1].1, r#"[1, {"c": null}]"#);
        assert_eq!(number(read[2].1), Some(-150.0));
        assert_eq!(read[3].1, "{}");
        assert_eq!(members("{}").unwrap(), []);
        let spaced = members("{ \"id\" : \"a\" , \"n\" : 7 }").unwrap();
        assert_eq!(string(spaced[0].1).as_deref(), Some("a"));
        assert_eq!(number(spaced[1].1), Some(7.0));
    }

    #[test]
    fn refuses_what_json_parse_refuses() {
        for text in [
            "",
            "[]",
            "{",
            r#"{"a":1,}"#,
            r#"{"a":1}x"#,
            r#"{"a":01}"#,
            r#"{"a":1.}"#,
            r#"{"a":1e}"#,
            r#"{"a":tru}"#,
            r#"{"a":"\x"}"#,
            "{\"a\":\"\u{1}\"}",
            r#"{"a":[1 2]}"#,
            r#"{"a":{"b"}}"#,
            r#"{"a":{"b":1,}}"#,
            r#"{"a":"\u12"}"#,
            r#"{"a":"\u+123"}"#,
            r#"{'a':1}"#,
        ] {
            assert_eq!(members(text), None, "{text:?}");
        }
    }

    #[test]
    fn decodes_escapes_and_surrogate_pairs() {
        assert_eq!(
            string(r#""\u0130\ud83d\ude00\n\/\b\f\t""#).unwrap(),
            "İ😀\n/\u{8}\u{c}\t"
        );
        assert_eq!(string(r#""\ud800x""#).unwrap(), "\u{fffd}x");
        assert_eq!(string(r#""\ud800\u0041""#).unwrap(), "\u{fffd}A");
        assert_eq!(string(r#""\udc00""#).unwrap(), "\u{fffd}");
        assert_eq!(string(r#""a" "#), None);
        assert_eq!(string("1"), None);
    }

    #[test]
    fn reads_numbers_as_written_by_json_stringify() {
        assert_eq!(number("1733478000123"), Some(1_733_478_000_123.0));
        assert_eq!(number("9007199254740992"), Some(9_007_199_254_740_992.0));
        assert_eq!(number("0"), Some(0.0));
        assert_eq!(number("-0.25"), Some(-0.25));
        assert_eq!(number("1e+21"), Some(1e21));
        assert_eq!(number("25E-1"), Some(2.5));
        assert_eq!(number("0e999"), Some(0.0));
        assert_eq!(number("-0.0E+400"), Some(-0.0));
        assert_eq!(number(&format!("{}e-400", "9".repeat(400))), None);
        assert_eq!(number("null"), None);
        assert_eq!(number("1 "), None);
    }

    #[test]
    fn nests_deeper_than_any_stack_would_allow() {
        let deep = format!(r#"{{"a":{}1{}}}"#, "[".repeat(100_000), "]".repeat(100_000));
        assert_eq!(members(&deep).unwrap().len(), 1);
        let unclosed = format!(r#"{{"a":{}1}}"#, "[".repeat(100_000));
        assert_eq!(members(&unclosed), None);
    }

    #[test]
    fn writes_strings_that_read_back_the_same() {
        let text = "a\"b\\c\nd\u{1}e\u{2028}İ😀";
        let mut out = String::new();
        push_string(&mut out, text);
        assert_eq!(out, "\"a\\\"b\\\\c\\nd\\u0001e\\u2028İ😀\"");
        assert_eq!(string(&out).unwrap(), text);
    }

    #[test]
    fn writes_whole_numbers() {
        let mut out = String::new();
        push_number(&mut out, 1_733_478_000_123.0);
        out.push(',');
        push_number(&mut out, 2.75);
        out.push(',');
        push_number(&mut out, f64::NAN);
        assert_eq!(out, "1733478000123,2,0");
    }

    #[test]
    fn writes_numbers_that_read_back_exactly() {
        // Found by fuzzing: a time beyond 2^53 read back as another number.
        for value in [1_733_000_000_477_999_360.0, -1e300, f64::INFINITY, 123.0] {
            let mut out = String::new();
            push_number(&mut out, value);
            let read = number(&out).unwrap();
            let mut again = String::new();
            push_number(&mut again, read);
            assert_eq!(again, out, "{value}");
            assert!(read.abs() <= MAX_EXACT);
        }
    }
}
