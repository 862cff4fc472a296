//! Short names for the functions the widget's wasm imports from its JS glue, and for the
//! closure shims it exports to it.
//!
//! wasm-bindgen names each import after the JS it calls plus a 16-digit hash, such as
//! `__wbg_setAttribute_f75317b2b5cabfb4`, and writes every name twice: in the wasm's import
//! section and as a key of the glue's import object. The hashes do not compress. Renaming the
//! imports to `a`, `b`, ... `Z`, `aa`, ... in both files makes the package about 3 KB smaller
//! with brotli. The exports that call a Rust closure are named the same way
//! (`wasm_bindgen__convert__closures_____invoke__h41c51ffb3e1efcc0`); they become `$a`, `$b`,
//! ... in the wasm, the glue and the `.d.ts` files (about 170 bytes brotli less). The other
//! exports, which the package's API and wasm-bindgen's runtime name, keep their names.

use std::collections::HashMap;

/// Renames every import of `module` in `wasm` to a short name and the same keys in `glue`, the
/// glue's source text; a name imported twice gets the same short name both times. Fails,
/// changing nothing, when the wasm cannot be read, imports nothing from `module`, or a name is
/// not exactly one word of the glue.
pub fn shorten(wasm: &[u8], glue: &str, module: &str) -> Result<(Vec<u8>, String), String> {
    let mut names: HashMap<String, String> = HashMap::new();
    let wasm = rename_imports(wasm, module, |old| {
        let next = short_name(names.len());
        names.entry(old.to_owned()).or_insert(next).clone()
    })?;
    if names.is_empty() {
        return Err(format!("the wasm imports nothing from `{module}`"));
    }
    let glue = rename_words(glue, &names, Count::Once)?;
    Ok((wasm, glue))
}

/// The start of the name of every export that calls a Rust closure.
const CLOSURE_SHIM: &str = "wasm_bindgen__convert__closures_";

/// Renames every closure shim `wasm` exports to `$a`, `$b`, ...; returns the renamed wasm and
/// each old name with its new one. Fails, changing nothing, when the wasm cannot be read.
pub fn shorten_closure_exports(wasm: &[u8]) -> Result<(Vec<u8>, HashMap<String, String>), String> {
    let mut names: HashMap<String, String> = HashMap::new();
    let wasm = rewrite_section(wasm, 7, |section, out| {
        let count = section.unsigned()?;
        write_unsigned(out, count);
        for _ in 0..count {
            let name = section.name()?;
            if name.starts_with(CLOSURE_SHIM) {
                let next = ["$", &short_name(names.len())].concat();
                let short = names.entry(name.to_owned()).or_insert(next);
                write_name(out, short);
            } else {
                write_name(out, name);
            }
            let kind = section.byte()?;
            out.push(kind);
            write_unsigned(out, section.unsigned()?);
        }
        Ok(())
    })?;
    Ok((wasm, names))
}

/// `text` (the glue, or a `.d.ts` file) with each old name of `names` replaced by its new one:
/// everywhere in the glue, which also names its own wrappers after the shims (`Count::AtLeastOnce`),
/// exactly once in a declaration file (`Count::Once`).
pub fn rename_exports(
    text: &str,
    names: &HashMap<String, String>,
    count: Count,
) -> Result<String, String> {
    rename_words(text, names, count)
}

/// The `index`th short name: letters only, so each is a plain JS property name.
fn short_name(index: usize) -> String {
    const LETTERS: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let mut name = Vec::new();
    let mut rest = index;
    loop {
        name.push(LETTERS[rest % LETTERS.len()]);
        rest /= LETTERS.len();
        if rest == 0 {
            break;
        }
        rest -= 1;
    }
    name.reverse();
    String::from_utf8(name).unwrap_or_default()
}

/// How often each name must occur in a text it is replaced in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Count {
    Once,
    AtLeastOnce,
}

/// Replaces each word of `text` (a run of letters, digits, `_` and `$`) that is a key of `names`
/// with its value; every key must occur as often as `count` says.
fn rename_words(
    text: &str,
    names: &HashMap<String, String>,
    count: Count,
) -> Result<String, String> {
    let is_word = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '$';
    let mut out = String::with_capacity(text.len());
    let mut seen: HashMap<&str, usize> = HashMap::new();
    let mut rest = text;
    while let Some(start) = rest.find(is_word) {
        out.push_str(&rest[..start]);
        let word_and_after = &rest[start..];
        let end = word_and_after
            .find(|c: char| !is_word(c))
            .unwrap_or(word_and_after.len());
        let word = &word_and_after[..end];
        match names.get_key_value(word) {
            Some((key, new)) => {
                *seen.entry(key.as_str()).or_default() += 1;
                out.push_str(new);
            }
            None => out.push_str(word),
        }
        rest = &word_and_after[end..];
    }
    out.push_str(rest);
    let mut wrong: Vec<String> = names
        .keys()
        .filter_map(
            |name| match (seen.get(name.as_str()).copied().unwrap_or(0), count) {
                (1, _) => None,
                (2.., Count::AtLeastOnce) => None,
                (times, _) => Some(format!("{name} ({times} times)")),
            },
        )
        .collect();
    if wrong.is_empty() {
        Ok(out)
    } else {
        wrong.sort();
        Err(format!(
            "the text does not name each renamed wasm name as often as it must: {}",
            wrong.join(", ")
        ))
    }
}

/// A copy of `wasm` whose imports from `module` are renamed by `rename`, called once per import
/// in order. Every other section is kept byte for byte; the import section and its size are
/// written anew.
fn rename_imports(
    wasm: &[u8],
    module: &str,
    mut rename: impl FnMut(&str) -> String,
) -> Result<Vec<u8>, String> {
    rewrite_section(wasm, 2, |section, out| {
        let count = section.unsigned()?;
        write_unsigned(out, count);
        for _ in 0..count {
            let from = section.name()?;
            let field = section.name()?;
            write_name(out, from);
            if from == module {
                write_name(out, &rename(field));
            } else {
                write_name(out, field);
            }
            let start = section.at;
            section.skip_import_description()?;
            out.extend_from_slice(&section.bytes[start..section.at]);
        }
        Ok(())
    })
}

/// A copy of `wasm` whose sections of type `id` are written anew by `write`, from a reader of
/// the old section's body to the new body, which must read the whole body. Every other section
/// is kept byte for byte.
fn rewrite_section(
    wasm: &[u8],
    id: u8,
    mut write: impl FnMut(&mut Reader<'_>, &mut Vec<u8>) -> Result<(), String>,
) -> Result<Vec<u8>, String> {
    const HEADER: &[u8] = b"\0asm\x01\0\0\0";
    if !wasm.starts_with(HEADER) {
        return Err("not a WebAssembly module (version 1)".to_owned());
    }
    let mut reader = Reader {
        bytes: wasm,
        at: HEADER.len(),
    };
    let mut out = HEADER.to_vec();
    while reader.at < wasm.len() {
        let section_id = reader.byte()?;
        let size = reader.unsigned()?;
        let body = reader.take(size)?;
        if section_id != id {
            out.push(section_id);
            write_unsigned(&mut out, size);
            out.extend_from_slice(body);
            continue;
        }
        let mut section = Reader { bytes: body, at: 0 };
        let mut written = Vec::with_capacity(body.len());
        write(&mut section, &mut written)?;
        if section.at != body.len() {
            return Err(format!("section {id} has bytes after its last entry"));
        }
        out.push(section_id);
        write_unsigned(&mut out, written.len());
        out.extend_from_slice(&written);
    }
    Ok(out)
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn byte(&mut self) -> Result<u8, String> {
        let byte = *self
            .bytes
            .get(self.at)
            .ok_or("the wasm ends in the middle of a section")?;
        self.at += 1;
        Ok(byte)
    }

    /// An unsigned LEB128 number of at most 32 bits.
    fn unsigned(&mut self) -> Result<usize, String> {
        let mut value: u32 = 0;
        for shift in (0..35).step_by(7) {
            let byte = self.byte()?;
            // The fifth byte holds the top four bits only.
            if shift == 28 && byte > 0x0f {
                break;
            }
            value |= u32::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return usize::try_from(value).map_err(|_| "a number too large".to_owned());
            }
        }
        Err("a number in the wasm is longer than 32 bits".to_owned())
    }

    fn take(&mut self, length: usize) -> Result<&'a [u8], String> {
        let end = self
            .at
            .checked_add(length)
            .filter(|end| *end <= self.bytes.len())
            .ok_or("the wasm ends in the middle of a section")?;
        let taken = &self.bytes[self.at..end];
        self.at = end;
        Ok(taken)
    }

    fn name(&mut self) -> Result<&'a str, String> {
        let length = self.unsigned()?;
        std::str::from_utf8(self.take(length)?).map_err(|_| "a wasm name is not UTF-8".to_owned())
    }

    fn limits(&mut self) -> Result<(), String> {
        let flags = self.byte()?;
        self.unsigned()?;
        if flags & 1 != 0 {
            self.unsigned()?;
        }
        Ok(())
    }

    /// Skips what an import is: a function's type, a table, a memory, a global or a tag. Table
    /// and global types are read as one byte and memory limits by their "has a maximum" bit,
    /// which holds for the features the widget is built with (`dist::WASM_FEATURES`), not for
    /// typed function references or custom page sizes.
    fn skip_import_description(&mut self) -> Result<(), String> {
        match self.byte()? {
            0 => self.unsigned().map(|_| ()),
            1 => {
                self.byte()?;
                self.limits()
            }
            2 => self.limits(),
            3 => self.take(2).map(|_| ()),
            4 => {
                self.byte()?;
                self.unsigned().map(|_| ())
            }
            kind => Err(format!("an import of unknown kind {kind}")),
        }
    }
}

fn write_unsigned(out: &mut Vec<u8>, mut value: usize) {
    loop {
        let low = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(low);
            return;
        }
        out.push(low | 0x80);
    }
}

fn write_name(out: &mut Vec<u8>, name: &str) {
    write_unsigned(out, name.len());
    out.extend_from_slice(name.as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A module with three imports: two functions from `glue` and a memory from `env`.
    fn module() -> Vec<u8> {
        let function: &[u8] = &[0, 0];
        module_of(&[
            ("glue", "__wbg_now_463ac581d2fc7ea3", function),
            ("env", "memory", &[2, 1, 17, 0x80, 0x01]),
            ("glue", "__wbg_now_463ac581d2fc7ea3_x", function),
        ])
    }

    /// A module with one function type, the section `id` with `body`, and a custom section
    /// after them.
    fn module_with(id: u8, body: &[u8]) -> Vec<u8> {
        let mut wasm = b"\0asm\x01\0\0\0".to_vec();
        wasm.extend_from_slice(&[1, 4, 1, 0x60, 0, 0]);
        wasm.push(id);
        write_unsigned(&mut wasm, body.len());
        wasm.extend_from_slice(body);
        wasm.extend_from_slice(&[0, 4, 3, b'n', b'o', b'w']);
        wasm
    }

    /// A reader at the number of entries of `wasm`'s section `id`.
    fn section(wasm: &[u8], id: u8) -> (Reader<'_>, usize) {
        let mut reader = Reader { bytes: wasm, at: 8 };
        loop {
            let found = reader.byte().unwrap();
            let size = reader.unsigned().unwrap();
            let body = reader.take(size).unwrap();
            if found == id {
                let mut section = Reader { bytes: body, at: 0 };
                let count = section.unsigned().unwrap();
                return (section, count);
            }
        }
    }

    /// A module with the given imports (module, name and what is imported, encoded).
    fn module_of(imports: &[(&str, &str, &[u8])]) -> Vec<u8> {
        let mut section = Vec::new();
        write_unsigned(&mut section, imports.len());
        for (module, field, description) in imports {
            write_name(&mut section, module);
            write_name(&mut section, field);
            section.extend_from_slice(description);
        }
        module_with(2, &section)
    }

    /// Every import's module and name, read back from the module's import section.
    fn imports_of(wasm: &[u8]) -> Vec<(String, String)> {
        let (mut section, count) = section(wasm, 2);
        (0..count)
            .map(|_| {
                let module = section.name().unwrap().to_owned();
                let field = section.name().unwrap().to_owned();
                section.skip_import_description().unwrap();
                (module, field)
            })
            .collect()
    }

    #[test]
    fn renames_the_glues_imports_in_the_wasm_and_the_glue_and_keeps_the_rest() {
        let glue = "const imports = { __wbg_now_463ac581d2fc7ea3: () => Date.now(), \
                    __wbg_now_463ac581d2fc7ea3_x: function() { return x.__wbg_now_463ac581d2fc7ea3z; } };";
        let (wasm, glue) = shorten(&module(), glue, "glue").unwrap();
        assert_eq!(
            glue,
            "const imports = { a: () => Date.now(), \
             b: function() { return x.__wbg_now_463ac581d2fc7ea3z; } };"
        );
        assert_eq!(
            imports_of(&wasm),
            [
                ("glue".to_owned(), "a".to_owned()),
                ("env".to_owned(), "memory".to_owned()),
                ("glue".to_owned(), "b".to_owned())
            ]
        );
        let original = module();
        assert_eq!(&wasm[..14], &original[..14], "header and type section");
        assert_eq!(
            &wasm[wasm.len() - 6..],
            &original[original.len() - 6..],
            "custom section"
        );
        assert!(
            wasm.windows(6).any(|window| window == b"memory"),
            "the import from another module keeps its name"
        );
        assert_eq!(original.len() - wasm.len(), 26 + 28 - 2);
    }

    #[test]
    fn fails_when_the_glue_does_not_name_an_import_exactly_once() {
        let missing = shorten(&module(), "{ __wbg_now_463ac581d2fc7ea3: 1 }", "glue").unwrap_err();
        assert!(
            missing.contains("__wbg_now_463ac581d2fc7ea3_x (0 times)"),
            "{missing}"
        );
        let twice = shorten(
            &module(),
            "__wbg_now_463ac581d2fc7ea3 __wbg_now_463ac581d2fc7ea3_x __wbg_now_463ac581d2fc7ea3",
            "glue",
        )
        .unwrap_err();
        assert!(
            twice.contains("__wbg_now_463ac581d2fc7ea3 (2 times)"),
            "{twice}"
        );
    }

    #[test]
    fn a_name_imported_twice_keeps_one_short_name() {
        let function: &[u8] = &[0, 0];
        let wasm = module_of(&[
            ("glue", "__wbg_x", function),
            ("glue", "__wbg_y", function),
            ("glue", "__wbg_x", function),
        ]);
        let (wasm, glue) = shorten(&wasm, "{ __wbg_x: f, __wbg_y: g }", "glue").unwrap();
        assert_eq!(glue, "{ a: f, b: g }");
        let fields: Vec<String> = imports_of(&wasm)
            .into_iter()
            .map(|(_, field)| field)
            .collect();
        assert_eq!(fields, ["a", "b", "a"]);
    }

    /// A module exporting a function under each of `names`.
    fn exporting(names: &[&str]) -> Vec<u8> {
        let mut section = Vec::new();
        write_unsigned(&mut section, names.len());
        for name in names {
            write_name(&mut section, name);
            section.extend_from_slice(&[0, 0]);
        }
        module_with(7, &section)
    }

    /// Every export's name, read back from the module's export section.
    fn exports_of(wasm: &[u8]) -> Vec<String> {
        let (mut section, count) = section(wasm, 7);
        (0..count)
            .map(|_| {
                let name = section.name().unwrap().to_owned();
                section.byte().unwrap();
                section.unsigned().unwrap();
                name
            })
            .collect()
    }

    #[test]
    fn renames_the_closure_shims_in_the_wasm_the_glue_and_the_declarations() {
        let shim = "wasm_bindgen__convert__closures_____invoke__h41c51ffb3e1efcc0";
        let other = "wasm_bindgen__convert__closures________invoke__h3b17cff975eab0ea";
        let original = exporting(&["mount", shim, "__wbindgen_malloc", other]);
        let (wasm, names) = shorten_closure_exports(&original).unwrap();
        assert_eq!(
            exports_of(&wasm),
            ["mount", "$a", "__wbindgen_malloc", "$b"]
        );
        assert_eq!(&wasm[wasm.len() - 6..], &original[original.len() - 6..]);

        let glue = format!("function {shim}(a) {{ wasm.{shim}(a); }} f({shim}); wasm.{other}();");
        assert_eq!(
            rename_exports(&glue, &names, Count::AtLeastOnce).unwrap(),
            "function $a(a) { wasm.$a(a); } f($a); wasm.$b();"
        );
        let declared = format!("readonly {shim}: () => void;\nreadonly {other}: () => void;");
        assert_eq!(
            rename_exports(&declared, &names, Count::Once).unwrap(),
            "readonly $a: () => void;\nreadonly $b: () => void;"
        );
        let twice = rename_exports(&format!("{declared} {shim}"), &names, Count::Once);
        assert!(twice.unwrap_err().contains("(2 times)"));
        let missing = rename_exports(shim, &names, Count::AtLeastOnce).unwrap_err();
        assert!(missing.contains(&format!("{other} (0 times)")), "{missing}");
    }

    #[test]
    fn fails_when_nothing_comes_from_the_module() {
        let error = shorten(&module(), "", "./other_bg.js").unwrap_err();
        assert!(
            error.contains("imports nothing from `./other_bg.js`"),
            "{error}"
        );
    }

    #[test]
    fn fails_on_a_module_it_cannot_read() {
        assert!(shorten(b"\0asm\x02\0\0\0", "", "glue").is_err());
        let mut cut = module();
        cut.truncate(20);
        assert!(shorten(&cut, "", "glue").is_err());
        // A section size of five bytes whose last byte sets bits above the 32nd.
        let mut long = b"\0asm\x01\0\0\0".to_vec();
        long.extend_from_slice(&[1, 0x80, 0x80, 0x80, 0x80, 0x10]);
        let error = shorten(&long, "", "glue").unwrap_err();
        assert!(error.contains("longer than 32 bits"), "{error}");
    }

    #[test]
    fn short_names_are_distinct_letter_words() {
        let names: Vec<String> = (0..3000).map(short_name).collect();
        assert_eq!(names[0], "a");
        assert_eq!(names[51], "Z");
        assert_eq!(names[52], "aa");
        let distinct: std::collections::HashSet<&String> = names.iter().collect();
        assert_eq!(distinct.len(), names.len());
        assert!(
            names
                .iter()
                .all(|name| !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphabetic()))
        );
    }
}
