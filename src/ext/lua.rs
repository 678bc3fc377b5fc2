//! # Lua extensions (ipftrace2's api_version 1)
//!
//! `-s script.lua` or `-e script.lua`: a Lua 5.4 script, run once at
//! start, that sets `api_version = 1` and `program` (a BPF extension object
//! as a string, checked like `-e x.o`), and may define `init()` (called
//! before attaching), `decode(data)` (called per event at output time with
//! the 64 data bytes as a string, returning a flat table of string or number
//! keys and values) and `fini()` (called once the output is finished). The
//! decoded pairs become string fields sorted by key. Every error is one line
//! naming the script's file and line.

use std::path::Path;
use std::sync::Arc;

use anyhow::{anyhow, bail, Result};
use mlua::{Function, Lua, Table, Value as LuaValue};

use crate::event::model::{Field, Value};
use crate::event::raw::DATA_SIZE;

/// The largest script read.
const MAX_SCRIPT_BYTES: u64 = 16 << 20;

/// A loaded script.
pub struct Script {
    lua: Lua,
    /// The script's path, as errors name it.
    name: String,
    decode: Option<Function>,
    init: Option<Function>,
    fini: Option<Function>,
    /// The first error decode() raised, reported by the stream.
    failed: Option<String>,
}

/// The first line of a Lua error, without mlua's prefixes and traceback.
fn one_line(e: &mlua::Error) -> String {
    let text = match e {
        mlua::Error::CallbackError { cause, .. } => return one_line(cause),
        mlua::Error::SyntaxError { message, .. } => message.clone(),
        mlua::Error::RuntimeError(message) => message.clone(),
        other => other.to_string(),
    };
    let first = text.lines().next().unwrap_or("").trim();
    first
        .strip_prefix("runtime error: ")
        .or_else(|| first.strip_prefix("syntax error: "))
        .unwrap_or(first)
        .to_string()
}

/// `file:line` of a Lua function's definition.
fn defined_at(name: &str, f: &Function) -> String {
    let line = f.info().line_defined.unwrap_or(0);
    format!("{name}:{line}")
}

impl Script {
    /// Runs the script and checks its globals: the BPF object it names and
    /// the script, ready for `init()`.
    pub fn open(path: &Path) -> Result<(Vec<u8>, Script)> {
        let name = path.display().to_string();
        crate::compile::check_regular_file(path, "Lua script", MAX_SCRIPT_BYTES)?;
        let source =
            std::fs::read(path).map_err(|e| anyhow!("cannot read the Lua script {name}: {e}"))?;
        // Every standard library, `debug` included, as ipftrace2's
        // luaL_openlibs gave: the script is the user's own code, run by them.
        // SAFETY: the debug library can break Lua's invariants only from
        // script code; no Rust code here holds Lua references across calls
        // into the script that the debug library could invalidate.
        let lua = unsafe { Lua::unsafe_new_with(mlua::StdLib::ALL, mlua::LuaOptions::new()) };
        lua.load(&source[..])
            .set_name(format!("@{name}"))
            .exec()
            .map_err(|e| anyhow!("{}", one_line(&e)))?;
        let globals = lua.globals();
        match globals.get::<LuaValue>("api_version") {
            Ok(LuaValue::Integer(1)) => {}
            Ok(LuaValue::Number(1.0)) => {}
            Ok(LuaValue::Nil) => bail!("{name}: no api_version: set `api_version = 1`"),
            Ok(other) => bail!(
                "{name}: unsupported api_version {}: ipft runs api_version 1",
                show(&other)
            ),
            Err(e) => bail!("{name}: {}", one_line(&e)),
        }
        let program = match globals.get::<LuaValue>("program") {
            Ok(LuaValue::String(s)) => s.as_bytes().to_vec(),
            Ok(LuaValue::Nil) => bail!(
                "{name}: no `program`: set it to a BPF extension object, e.g. program = io.open(\"ext.o\", \"rb\"):read(\"a\")"
            ),
            Ok(other) => bail!(
                "{name}: `program` is a {}, not a string holding a BPF extension object",
                other.type_name()
            ),
            Err(e) => bail!("{name}: {}", one_line(&e)),
        };
        let function = |key: &str| -> Result<Option<Function>> {
            match globals.get::<LuaValue>(key) {
                Ok(LuaValue::Function(f)) => Ok(Some(f)),
                Ok(LuaValue::Nil) => Ok(None),
                Ok(other) => bail!("{name}: `{key}` is a {}, not a function", other.type_name()),
                Err(e) => bail!("{name}: {}", one_line(&e)),
            }
        };
        let script = Script {
            decode: function("decode")?,
            init: function("init")?,
            fini: function("fini")?,
            lua,
            name,
            failed: None,
        };
        Ok((program, script))
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Calls `init()`, if the script has one.
    pub fn init(&self) -> Result<()> {
        match &self.init {
            Some(f) => f.call::<()>(()).map_err(|e| anyhow!("{}", one_line(&e))),
            None => Ok(()),
        }
    }

    /// Calls `fini()`, if the script has one.
    pub fn fini(&self) -> Result<()> {
        match &self.fini {
            Some(f) => f.call::<()>(()).map_err(|e| anyhow!("{}", one_line(&e))),
            None => Ok(()),
        }
    }

    /// The first error `decode()` raised, once.
    pub fn take_error(&mut self) -> Option<String> {
        self.failed.take()
    }

    /// Decodes one event's data; after an error, nothing (the stream stops).
    pub fn decode(&mut self, data: &[u8; DATA_SIZE]) -> Vec<Field> {
        let Some(decode) = &self.decode else {
            return Vec::new();
        };
        if self.failed.is_some() {
            return Vec::new();
        }
        let result = self
            .lua
            .create_string(data)
            .and_then(|s| decode.call::<LuaValue>(s));
        match result {
            Ok(LuaValue::Table(t)) => match fields(&t) {
                Ok(fields) => fields,
                Err(why) => {
                    self.failed = Some(format!(
                        "{}: decode() {why}",
                        defined_at(&self.name, decode)
                    ));
                    Vec::new()
                }
            },
            Ok(other) => {
                self.failed = Some(format!(
                    "{}: decode() returned a {}, not a table",
                    defined_at(&self.name, decode),
                    other.type_name()
                ));
                Vec::new()
            }
            Err(e) => {
                self.failed = Some(one_line(&e));
                Vec::new()
            }
        }
    }
}

/// A Lua value as ipftrace2 printed it: strings as they are, numbers as text.
fn show(v: &LuaValue) -> String {
    match v {
        LuaValue::String(s) => s.to_string_lossy(),
        LuaValue::Integer(i) => i.to_string(),
        LuaValue::Number(n) => n.to_string(),
        other => other.type_name().to_string(),
    }
}

/// A flat table's pairs as fields, sorted by key.
fn fields(t: &Table) -> Result<Vec<Field>, String> {
    let mut out = Vec::new();
    for pair in t.pairs::<LuaValue, LuaValue>() {
        let (k, v) =
            pair.map_err(|e| format!("returned an unreadable table ({})", one_line(&e)))?;
        let key = match &k {
            LuaValue::String(_) | LuaValue::Integer(_) | LuaValue::Number(_) => show(&k),
            other => return Err(format!("returned a table with a {} key", other.type_name())),
        };
        let value = match &v {
            LuaValue::String(_) | LuaValue::Integer(_) | LuaValue::Number(_) => show(&v),
            other => {
                return Err(format!(
                    "returned a {} at key '{key}' (values must be strings or numbers)",
                    other.type_name()
                ))
            }
        };
        out.push(Field {
            name: Arc::from(key),
            value: Value::Str(value),
        });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn script(text: &str) -> Result<(Vec<u8>, Script)> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.lua");
        std::fs::write(&path, text).unwrap();
        Script::open(&path)
    }

    fn err(text: &str) -> String {
        match script(text) {
            Ok(_) => panic!("accepted: {text}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn a_script_decodes_flat_tables_sorted_by_key() {
        let (program, mut s) = script(
            "api_version = 1\nprogram = 'ELF'\ncalls = 0\nfunction init() calls = calls + 1 end\n\
             function decode(data) return { len = string.unpack('<I4', data), b = 'x', [3] = 4.5 } end\n",
        )
        .unwrap();
        assert_eq!(program, b"ELF");
        s.init().unwrap();
        let mut data = [0u8; DATA_SIZE];
        data[..4].copy_from_slice(&84u32.to_le_bytes());
        let got: Vec<(String, String)> = s
            .decode(&data)
            .into_iter()
            .map(|f| (f.name.to_string(), f.value.to_string()))
            .collect();
        assert_eq!(
            got,
            [("3", "4.5"), ("b", "x"), ("len", "84")].map(|(k, v)| (k.to_string(), v.to_string()))
        );
        assert!(s.take_error().is_none());
        s.fini().unwrap();
    }

    #[test]
    fn every_standard_library_is_there() {
        let (program, _) = script(
            "api_version = 1\nprogram = table.concat({ string.format('%d', math.maxinteger), \
             tostring(os.time() > 0), tostring(io ~= nil), tostring(utf8 ~= nil), \
             tostring(coroutine ~= nil), tostring(debug.traceback ~= nil) }, ',')\n",
        )
        .unwrap();
        assert_eq!(
            String::from_utf8(program).unwrap(),
            "9223372036854775807,true,true,true,true,true"
        );
    }

    #[test]
    fn bad_scripts_are_one_line_with_file_and_line() {
        let e = err("api_version = 1\nprogram = 'x'\nfunction decode(\n");
        assert!(e.contains("s.lua:") && !e.contains('\n'), "{e}");
        let e = err("api_version = 2\nprogram = 'x'\n");
        assert!(e.contains("unsupported api_version 2"), "{e}");
        let e = err("api_version = 1\n");
        assert!(e.contains("no `program`"), "{e}");
        let e = err("api_version = 1\nprogram = 3 > 2\n");
        assert!(e.contains("`program` is a boolean"), "{e}");
        let e = err("api_version = 1\nprogram = 'x'\nerror('boom')\n");
        assert!(e.contains("s.lua:3: boom"), "{e}");

        let (_, mut s) = script(
            "api_version = 1\nprogram = 'x'\n\nfunction decode(data)\n  return { a = { 1 } }\nend\n",
        )
        .unwrap();
        assert!(s.decode(&[0; DATA_SIZE]).is_empty());
        let e = s.take_error().unwrap();
        assert!(
            e.contains("s.lua:4: decode() returned a table at key 'a'"),
            "{e}"
        );
        let (_, mut s) = script(
            "api_version = 1\nprogram = 'x'\nfunction decode(data)\n  error('bad packet')\nend\n",
        )
        .unwrap();
        s.decode(&[0; DATA_SIZE]);
        let e = s.take_error().unwrap();
        assert!(
            e.contains("s.lua:4: bad packet") && !e.contains('\n'),
            "{e}"
        );
    }
}
