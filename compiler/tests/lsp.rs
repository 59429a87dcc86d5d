//! `snnc lsp` driven by a real client: the built binary is spawned and spoken
//! to in JSON-RPC with Content-Length framing over its stdin/stdout. Every
//! wait has a timeout, so a hung server fails the test instead of CI.

use serde_json::{json, Value};
use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::time::{Duration, Instant};

const TIMEOUT: Duration = Duration::from_secs(20);

struct Client {
    child: Child,
    stdin: Option<ChildStdin>,
    rx: Receiver<Value>,
    /// Notifications read while waiting for a response.
    pending: VecDeque<Value>,
    next_id: i64,
    cache: PathBuf,
}

impl Client {
    /// Spawns `snnc lsp` with its own cache folder and initializes it.
    fn start(test: &str) -> (Client, Value) {
        let cache = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("lsp-cache-{test}"));
        let _ = std::fs::remove_dir_all(&cache);
        let mut child = Command::new(env!("CARGO_BIN_EXE_snnc"))
            .arg("lsp")
            .env("XDG_CACHE_HOME", &cache)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("snnc lsp starts");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            let mut r = BufReader::new(stdout);
            loop {
                let mut len = None;
                loop {
                    let mut line = String::new();
                    if r.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    let line = line.trim_end();
                    if line.is_empty() {
                        break;
                    }
                    if let Some(v) = line.strip_prefix("Content-Length: ") {
                        len = v.parse::<usize>().ok();
                    }
                }
                let mut buf = vec![0; len.expect("a Content-Length header")];
                if r.read_exact(&mut buf).is_err() {
                    return;
                }
                let v: Value = serde_json::from_slice(&buf).expect("the server sends JSON");
                if tx.send(v).is_err() {
                    return;
                }
            }
        });
        let stdin = child.stdin.take();
        let mut c = Client {
            child,
            stdin,
            rx,
            pending: VecDeque::new(),
            next_id: 1,
            cache,
        };
        let init = c.request(
            "initialize",
            json!({"processId": null, "rootUri": null, "capabilities": {}}),
        );
        c.notify("initialized", json!({}));
        (c, init)
    }

    fn send(&mut self, v: Value) {
        let body = serde_json::to_string(&v).unwrap();
        let stdin = self.stdin.as_mut().expect("stdin open");
        write!(stdin, "Content-Length: {}\r\n\r\n{body}", body.len()).unwrap();
        stdin.flush().unwrap();
    }

    /// Writes bytes as they are: broken frames and bodies.
    fn send_raw(&mut self, bytes: &[u8]) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        stdin.write_all(bytes).unwrap();
        stdin.flush().unwrap();
    }

    fn notify(&mut self, method: &str, params: Value) {
        self.send(json!({"jsonrpc": "2.0", "method": method, "params": params}));
    }

    fn recv(&mut self, deadline: Instant) -> Value {
        let left = deadline.saturating_duration_since(Instant::now());
        self.rx
            .recv_timeout(left)
            .expect("the server answers within the timeout")
    }

    /// Sends a request and returns its `result` (panics on an error response).
    fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        self.send(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let v = self.recv(deadline);
            if v.get("id") == Some(&json!(id)) && v.get("method").is_none() {
                assert!(v.get("error").is_none(), "{method} failed: {v}");
                return v["result"].clone();
            }
            self.pending.push_back(v);
        }
    }

    /// The next diagnostics published for `uri`.
    fn diagnostics(&mut self, uri: &str) -> Vec<Value> {
        let deadline = Instant::now() + TIMEOUT;
        let is_ours = |v: &Value| {
            v["method"] == "textDocument/publishDiagnostics" && v["params"]["uri"] == uri
        };
        if let Some(i) = self.pending.iter().position(is_ours) {
            let v = self.pending.remove(i).unwrap();
            return v["params"]["diagnostics"].as_array().unwrap().clone();
        }
        loop {
            let v = self.recv(deadline);
            if is_ours(&v) {
                return v["params"]["diagnostics"].as_array().unwrap().clone();
            }
            self.pending.push_back(v);
        }
    }

    fn open(&mut self, uri: &str, text: &str) {
        self.notify(
            "textDocument/didOpen",
            json!({"textDocument": {"uri": uri, "languageId": "snn", "version": 1, "text": text}}),
        );
    }

    fn change(&mut self, uri: &str, version: i32, text: &str) {
        self.notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": uri, "version": version},
                   "contentChanges": [{"text": text}]}),
        );
    }

    fn at(&mut self, method: &str, uri: &str, (line, character): (u32, u32)) -> Value {
        self.request(
            method,
            json!({"textDocument": {"uri": uri}, "position": {"line": line, "character": character}}),
        )
    }

    /// shutdown + exit; returns the exit code.
    fn shutdown(mut self) -> i32 {
        let r = self.request("shutdown", Value::Null);
        assert_eq!(r, Value::Null);
        self.notify("exit", Value::Null);
        drop(self.stdin.take());
        let deadline = Instant::now() + TIMEOUT;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                let _ = std::fs::remove_dir_all(&self.cache);
                return status.code().unwrap_or(-1);
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("snnc lsp did not exit after `exit`");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        // A failed test must not leave a server behind.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn uri(name: &str) -> String {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    format!("file://{}/{name}", dir.display())
}

/// The (0-based line, UTF-16 column) of the `nth` occurrence of `needle`, plus `shift` columns.
fn pos(text: &str, needle: &str, nth: usize, shift: u32) -> (u32, u32) {
    let offset = text
        .match_indices(needle)
        .nth(nth)
        .unwrap_or_else(|| panic!("`{needle}` #{nth} not in text"))
        .0;
    let line = text[..offset].matches('\n').count() as u32;
    let start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let col = text[start..offset].encode_utf16().count() as u32;
    (line, col + shift)
}

const BROKEN: &str = "import std.{LIF, Expon, CUBA}

/// My neuron.
neuron Mine {
    /// membrane time constant
    param tau: ms = 10 ms
    /// the membrane potential
    state V: mV = 0 mV
    current I: nA
    let drive = I / tau
    dV/dt = (-V + I) / tau
}
";

const FIXED: &str = "import std.{LIF, Expon, CUBA}

/// My neuron.
neuron Mine {
    /// membrane time constant
    param tau: ms = 10 ms
    /// the membrane potential
    state V: mV = 0 mV
    current I: nA
    param R: Mohm = 10 Mohm
    let drive = R * I / tau
    dV/dt = (-V + R * I) / tau
}

network small {
    /// excitatory cells
    population E = LIF[80] { tau = 20 ms, V ~ uniform(-65 mV, -50 mV) }
    population Inh = LIF[20]
    projection E -> E, Inh {
        connect fixed_prob(0.1)
        weight 0.05 nA
        synapse Expon(tau = 5 ms)
        output CUBA
    }
    E.I += 1.5 nA
    record spikes of E, Inh
}
";

#[test]
fn initialize_reports_capabilities_and_exits_cleanly() {
    let (c, init) = Client::start("init");
    let caps = &init["capabilities"];
    assert_eq!(caps["textDocumentSync"], json!(1), "full sync: {init}");
    assert_eq!(caps["hoverProvider"], json!(true));
    assert_eq!(caps["definitionProvider"], json!(true));
    assert!(caps["completionProvider"].is_object());
    assert_eq!(init["serverInfo"]["name"], "snnc");
    assert_eq!(c.shutdown(), 0);
}

#[test]
fn diagnostics_follow_edits() {
    let (mut c, _) = Client::start("diags");
    let u = uri("diags.snn");
    c.open(&u, BROKEN);
    let diags = c.diagnostics(&u);
    assert_eq!(diags.len(), 1, "{diags:?}");
    let d = &diags[0];
    assert_eq!(d["code"], "E0201");
    assert_eq!(d["severity"], 1);
    assert_eq!(d["source"], "snnc");
    assert!(
        d["message"]
            .as_str()
            .unwrap()
            .starts_with("expected mV, found nA"),
        "{d}"
    );
    // `I` in `dV/dt = (-V + I) / tau`.
    let (line, col) = pos(BROKEN, "I) / tau", 0, 0);
    assert_eq!(
        d["range"],
        json!({"start": {"line": line, "character": col}, "end": {"line": line, "character": col + 1}})
    );

    c.change(&u, 2, FIXED);
    assert_eq!(c.diagnostics(&u), Vec::<Value>::new());

    // Columns are UTF-16: a `µ` and an astral character before the error.
    let wide = "neuron W {\n    param a: ms = 1 ms  /* µ😀 */ ; state V: mV = a\n}\n";
    c.change(&u, 3, wide);
    let diags = c.diagnostics(&u);
    assert_eq!(diags.len(), 1, "{diags:?}");
    let (line, col) = pos(wide, "a\n}", 0, 0);
    assert_eq!(
        diags[0]["range"]["start"],
        json!({"line": line, "character": col})
    );
    assert_eq!(c.shutdown(), 0);
}

#[test]
fn hover_shows_kind_unit_and_doc() {
    let (mut c, _) = Client::start("hover");
    let u = uri("hover.snn");
    c.open(&u, FIXED);
    c.diagnostics(&u);

    // The state `V` where it is used in the ODE.
    let h = c.at("textDocument/hover", &u, pos(FIXED, "(-V + R", 0, 2));
    let text = h["contents"]["value"].as_str().unwrap();
    assert!(text.contains("state V: mV"), "{text}");
    assert!(text.contains("the membrane potential"), "{text}");
    assert!(text.contains("kg*m^2/(s^3*A)"), "{text}");

    // A let without a unit: inferred.
    let h = c.at("textDocument/hover", &u, pos(FIXED, "let drive", 0, 5));
    let text = h["contents"]["value"].as_str().unwrap();
    assert!(text.contains("let drive: V/s"), "{text}");

    // A model from the stdlib: kind and doc.
    let h = c.at("textDocument/hover", &u, pos(FIXED, "LIF[80]", 0, 1));
    let text = h["contents"]["value"].as_str().unwrap();
    assert!(text.contains("neuron LIF"), "{text}");
    assert!(text.contains("Leaky integrate-and-fire"), "{text}");

    // A population: its model and size.
    let h = c.at("textDocument/hover", &u, pos(FIXED, "E -> E", 0, 0));
    let text = h["contents"]["value"].as_str().unwrap();
    assert!(text.contains("population E = LIF[80]"), "{text}");
    assert!(text.contains("excitatory cells"), "{text}");

    // A unit.
    let h = c.at("textDocument/hover", &u, pos(FIXED, "Mohm = 10", 0, 1));
    let text = h["contents"]["value"].as_str().unwrap();
    assert!(text.contains("1 Mohm = 1000000 ohm"), "{text}");

    // Nothing under the cursor: null.
    let h = c.at("textDocument/hover", &u, (1, 0));
    assert_eq!(h, Value::Null);
    assert_eq!(c.shutdown(), 0);
}

#[test]
fn definition_into_stdlib_members_and_populations() {
    let (mut c, _) = Client::start("definition");
    let u = uri("def.snn");
    c.open(&u, FIXED);
    c.diagnostics(&u);

    // `LIF` → the embedded stdlib, written to the cache folder.
    let d = c.at("textDocument/definition", &u, pos(FIXED, "LIF[80]", 0, 2));
    let target = d["uri"].as_str().unwrap();
    let suffix = format!("/snnc/stdlib/{}/neurons.snn", env!("CARGO_PKG_VERSION"));
    assert!(target.ends_with(&suffix), "{d}");
    let path = target.strip_prefix("file://").unwrap();
    let on_disk = std::fs::read_to_string(path).expect("the stdlib copy exists");
    let stdlib = snnc::stdlib::module("neurons").unwrap().1;
    assert_eq!(on_disk, stdlib);
    let (line, col) = pos(stdlib, "neuron LIF {", 0, 7);
    assert_eq!(
        d["range"],
        json!({"start": {"line": line, "character": col}, "end": {"line": line, "character": col + 3}})
    );

    // A param override `tau = 20 ms` → LIF's `param tau`.
    let d = c.at(
        "textDocument/definition",
        &u,
        pos(FIXED, "tau = 20 ms", 0, 1),
    );
    assert_eq!(d["uri"].as_str().unwrap(), target);
    let (line, col) = pos(stdlib, "param tau: ms", 0, 6);
    assert_eq!(d["range"]["start"], json!({"line": line, "character": col}));

    // A synapse argument → the synapse model's param.
    let d = c.at(
        "textDocument/definition",
        &u,
        pos(FIXED, "tau = 5 ms", 0, 0),
    );
    assert!(d["uri"].as_str().unwrap().ends_with("/synapses.snn"), "{d}");

    // A local param used in an expression → its declaration in this file.
    let d = c.at(
        "textDocument/definition",
        &u,
        pos(FIXED, "R * I / tau", 0, 0),
    );
    assert_eq!(d["uri"], u.as_str());
    let (line, col) = pos(FIXED, "R: Mohm", 0, 0);
    assert_eq!(d["range"]["start"], json!({"line": line, "character": col}));

    // A population in a record → its declaration.
    let d = c.at("textDocument/definition", &u, pos(FIXED, "Inh\n", 0, 1));
    let (line, col) = pos(FIXED, "Inh = LIF", 0, 0);
    assert_eq!(d["range"]["start"], json!({"line": line, "character": col}));

    // The injection target `E.I` → LIF's current `I`.
    let d = c.at("textDocument/definition", &u, pos(FIXED, "E.I +=", 0, 2));
    let (line, col) = pos(stdlib, "current I: nA", 0, 8);
    assert_eq!(d["range"]["start"], json!({"line": line, "character": col}));
    assert_eq!(c.shutdown(), 0);
}

fn labels(items: &Value) -> Vec<String> {
    let list = items
        .as_array()
        .or_else(|| items["items"].as_array())
        .expect("a completion list");
    list.iter()
        .map(|i| i["label"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn completion_offers_units_models_and_populations() {
    let (mut c, _) = Client::start("completion");
    let u = uri("complete.snn");
    c.open(&u, FIXED);
    c.diagnostics(&u);

    // Inside the network: populations, models, units, keywords.
    let items = c.at(
        "textDocument/completion",
        &u,
        pos(FIXED, "    record spikes", 0, 4),
    );
    let l = labels(&items);
    for want in [
        "mV",
        "LIF",
        "E",
        "Inh",
        "Mine",
        "population",
        "HH",
        "fixed_total_number",
    ] {
        assert!(l.iter().any(|x| x == want), "no `{want}` in {l:?}");
    }

    // In an override block: the model's params first.
    let items = c.at(
        "textDocument/completion",
        &u,
        pos(FIXED, "tau = 20 ms", 0, 0),
    );
    let l = labels(&items);
    assert!(l.iter().any(|x| x == "V_th"), "{l:?}");

    // After a type annotation's `:`, units only.
    let items = c.at("textDocument/completion", &u, pos(FIXED, "mV = 0 mV", 0, 0));
    let l = labels(&items);
    assert!(l.iter().any(|x| x == "mV"), "{l:?}");
    assert!(!l.iter().any(|x| x == "LIF"), "{l:?}");

    // `E.` → the currents and states of LIF.
    let typed = FIXED.replace("    E.I += 1.5 nA\n", "    E.\n");
    c.change(&u, 2, &typed);
    c.diagnostics(&u);
    let items = c.at("textDocument/completion", &u, pos(&typed, "E.\n", 0, 2));
    let l = labels(&items);
    assert!(l.iter().any(|x| x == "I"), "{l:?}");
    assert!(l.iter().any(|x| x == "V"), "{l:?}");
    assert!(!l.iter().any(|x| x == "mV"), "{l:?}");

    // Inside a model body: its own names.
    let items = c.at("textDocument/completion", &u, pos(FIXED, "    dV/dt", 0, 4));
    let l = labels(&items);
    for want in [
        "tau", "V", "I", "drive", "exp", "spike", "on_pre", "on_post",
    ] {
        assert!(l.iter().any(|x| x == want), "no `{want}` in {l:?}");
    }
    assert!(!l.iter().any(|x| x == "while"), "{l:?}");

    // After `refractory`: `while` first (the condition form).
    let typed = FIXED.replace("    dV/dt = (-V", "    refractory \n    dV/dt = (-V");
    c.change(&u, 3, &typed);
    c.diagnostics(&u);
    let items = c.at(
        "textDocument/completion",
        &u,
        pos(&typed, "refractory \n", 0, 11),
    );
    let l = labels(&items);
    assert_eq!(l.first().map(String::as_str), Some("while"), "{l:?}");
    assert_eq!(c.shutdown(), 0);
}

#[test]
fn survives_broken_input_everywhere() {
    let (mut c, _) = Client::start("robust");
    let u = uri("robust.snn");
    let texts = [
        "",
        "neuron",
        "neuron X { param : = }",
        "network n { population = [ { , } projection -> { synapse ( } E. }",
        "import std.{",
        "import nothing.here.{A}\nnetwork n { population E = A[1] }",
        "neuron µ😀 { state V: mV = 😀 }\n\u{0}\r\n",
        "network n { population E = LIF[1] { tau = } E.I += record V of E[0: every }",
        &FIXED[..FIXED.len() / 2],
    ];
    for (v, text) in texts.iter().enumerate() {
        if v == 0 {
            c.open(&u, text);
        } else {
            c.change(&u, v as i32 + 1, text);
        }
        c.diagnostics(&u);
        let lines = text.lines().count() as u32 + 1;
        for line in 0..lines {
            for ch in [0, 1, 5, 11, 17, 30, 200] {
                for m in [
                    "textDocument/hover",
                    "textDocument/definition",
                    "textDocument/completion",
                ] {
                    c.at(m, &u, (line, ch));
                }
            }
        }
    }
    // A request for a document never opened: null, not an error.
    let r = c.at("textDocument/hover", &uri("never.snn"), (0, 0));
    assert_eq!(r, Value::Null);
    assert_eq!(c.shutdown(), 0);
}

#[test]
fn imports_read_open_buffers_and_report_in_the_imported_file() {
    let (mut c, _) = Client::start("imports");
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("lsp-imports");
    std::fs::create_dir_all(&dir).unwrap();
    let lib_uri = format!("file://{}/cells.snn", dir.display());
    let main_uri = format!("file://{}/main.snn", dir.display());
    // The imported file exists only as an editor buffer.
    let lib =
        "/// A cell.\nneuron Cell {\n    state V: mV\n    current I: nA\n    dV/dt = V / ms\n}\n";
    c.open(&lib_uri, lib);
    assert_eq!(c.diagnostics(&lib_uri), Vec::<Value>::new());
    let main =
        "import cells.{Cell}\nnetwork n {\n    population P = Cell[3]\n    record V of P\n}\n";
    c.open(&main_uri, main);
    assert_eq!(c.diagnostics(&main_uri), Vec::<Value>::new());
    let d = c.at(
        "textDocument/definition",
        &main_uri,
        pos(main, "Cell[3]", 0, 1),
    );
    assert_eq!(d["uri"], lib_uri.as_str());

    // Breaking the library rechecks the file that imports it.
    let broken = lib.replace("V / ms", "V");
    c.change(&lib_uri, 2, &broken);
    let diags = c.diagnostics(&lib_uri);
    assert_eq!(diags.len(), 1, "{diags:?}");
    assert_eq!(diags[0]["code"], "E0202");
    // The importer is rechecked; the error is shown in the library, not here.
    assert_eq!(c.diagnostics(&main_uri), Vec::<Value>::new());
    assert_eq!(c.shutdown(), 0);
}

#[test]
fn errors_in_an_unopened_import_go_to_its_file() {
    let (mut c, _) = Client::start("disk-import");
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("lsp disk import");
    std::fs::create_dir_all(&dir).unwrap();
    // Only on disk, never opened; a space in the folder name is percent-encoded.
    std::fs::write(
        dir.join("cells.snn"),
        "neuron Cell {\n    state V: mV\n    dV/dt = V\n}\n",
    )
    .unwrap();
    let folder = format!("file://{}", dir.display()).replace(' ', "%20");
    let main_uri = format!("{folder}/main.snn");
    let cells_uri = format!("{folder}/cells.snn");
    let main =
        "import cells.{Cell}\nneuron Twice {\n    param a: ms = 1 ms\n    param a: ms = 2 ms\n}\n";
    c.open(&main_uri, main);
    let cells = c.diagnostics(&cells_uri);
    assert_eq!(cells.len(), 1, "{cells:?}");
    assert_eq!(cells[0]["code"], "E0202");
    assert_eq!(
        cells[0]["range"]["start"],
        json!({"line": 2, "character": 12})
    );

    // The root's own error, with its secondary label as related information.
    let diags = c.diagnostics(&main_uri);
    assert_eq!(diags.len(), 1, "{diags:?}");
    assert_eq!(diags[0]["code"], "E0102");
    let related = &diags[0]["relatedInformation"][0];
    assert_eq!(related["location"]["uri"], main_uri.as_str());
    let (line, col) = pos(main, "a: ms = 1", 0, 0);
    assert_eq!(
        related["location"]["range"]["start"],
        json!({"line": line, "character": col})
    );

    // Closing the importer clears what it published for the import.
    c.notify(
        "textDocument/didClose",
        json!({"textDocument": {"uri": main_uri}}),
    );
    let mut cleared = [false, false];
    for _ in 0..2 {
        let deadline = Instant::now() + TIMEOUT;
        let v = loop {
            let v = match c.pending.pop_front() {
                Some(v) => v,
                None => c.recv(deadline),
            };
            if v["method"] == "textDocument/publishDiagnostics" {
                break v;
            }
        };
        assert_eq!(v["params"]["diagnostics"], json!([]));
        cleared[usize::from(v["params"]["uri"] == cells_uri.as_str())] = true;
    }
    assert_eq!(cleared, [true, true]);
    assert_eq!(c.shutdown(), 0);
}

#[test]
fn exit_without_shutdown_is_code_1() {
    let (mut c, _) = Client::start("no-shutdown");
    c.notify("exit", Value::Null);
    drop(c.stdin.take());
    let deadline = Instant::now() + TIMEOUT;
    loop {
        if let Some(status) = c.child.try_wait().unwrap() {
            assert_eq!(status.code(), Some(1));
            return;
        }
        assert!(Instant::now() < deadline, "snnc lsp did not exit");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A small seeded generator (xorshift64*), so a failure replays exactly.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// A char boundary of `text` at or before `i`.
fn boundary(text: &str, mut i: usize) -> usize {
    i = i.min(text.len());
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// 1,000 random edits of a model (insertions of syntax fragments, deletions,
/// a whole 20,000-term flat sum, bytes that are not JSON, frames without a
/// length): the server answers every malformed message with a JSON-RPC
/// error and, at the end, still answers hover on the fixed model correctly.
#[test]
fn survives_1000_random_edits_and_malformed_messages() {
    let (mut c, _) = Client::start("random-edits");
    let u = uri("random.snn");
    c.open(&u, FIXED);
    c.diagnostics(&u);
    let chain = vec!["V"; 20_000].join(" + ");
    let flat = format!("neuron F {{\n state V: mV = 0 mV\n dV/dt = ({chain}) / ms\n}}\n");
    let fragments = [
        "+",
        "(",
        ")",
        "{",
        "}",
        "neuron",
        "network n {",
        " mV",
        "^",
        "/",
        "\n",
        "\r",
        "\r\n",
        "\u{feff}",
        "😀",
        "E.",
        "import std.{",
        "dV/dt =",
        " and ",
        "1e999",
        "\"",
        "/*",
    ];
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    let mut text = FIXED.to_string();
    let mut malformed = 0;
    for version in 2..1002 {
        match rng.below(20) {
            0 => text = flat.clone(),
            1 => {
                c.send_raw(b"Content-Length: 9\r\n\r\n{not json");
                malformed += 1;
                continue;
            }
            2 => {
                c.send_raw(b"Content-Type: x\r\n\r\n");
                malformed += 1;
                continue;
            }
            3..=10 => {
                let at = boundary(&text, rng.below(text.len() + 1));
                text.insert_str(at, fragments[rng.below(fragments.len())]);
            }
            11..=15 => {
                let from = boundary(&text, rng.below(text.len() + 1));
                let to = boundary(&text, from + rng.below(40));
                text.replace_range(from..to, "");
            }
            _ => text = FIXED.to_string(),
        }
        c.change(&u, version, &text);
        if version % 50 == 0 {
            // Still answering, on whatever the document is now.
            let (line, ch) = (rng.below(12) as u32, rng.below(30) as u32);
            c.at("textDocument/hover", &u, (line, ch));
        }
    }
    assert!(
        malformed > 50,
        "the generator sent {malformed} malformed messages"
    );
    // Hover inside the 20,000-term chain.
    c.change(&u, 2000, &flat);
    c.at("textDocument/hover", &u, (2, 30));
    c.change(&u, 2001, FIXED);
    let h = c.at("textDocument/hover", &u, pos(FIXED, "(-V + R", 0, 2));
    let hover = h["contents"]["value"].as_str().unwrap();
    assert!(hover.contains("state V: mV"), "{hover}");
    let parse_errors = c
        .pending
        .iter()
        .filter(|v| v["error"]["code"] == -32700 && v["id"] == Value::Null)
        .count();
    assert_eq!(
        parse_errors, malformed,
        "one ParseError reply per malformed message"
    );
    assert_eq!(c.shutdown(), 0);
}

/// A model that checks with a warning (W0001: `integrate exp_euler` on an
/// equation not linear in `V`): published with severity Warning (2).
#[test]
fn warnings_are_published_with_severity_warning() {
    let (mut c, _) = Client::start("warnings");
    let u = uri("warn.snn");
    let text =
        "neuron Q {\n state V: mV = 1 mV\n dV/dt = -V * V / (mV * ms)\n integrate exp_euler\n}\n";
    c.open(&u, text);
    let diags = c.diagnostics(&u);
    assert_eq!(diags.len(), 1, "{diags:?}");
    assert_eq!(diags[0]["code"], "W0001");
    assert_eq!(diags[0]["severity"], 2);
    assert_eq!(diags[0]["range"]["start"]["line"], 2);
    assert_eq!(c.shutdown(), 0);
}

/// What only lowering finds (here a delay no draw can bring to one step,
/// E0404) reaches the editor as `snnc check` reports it, at the delay.
#[test]
fn errors_found_when_lowering_are_published() {
    let (mut c, _) = Client::start("lowering");
    let u = uri("lowering.snn");
    let text = "import std.{LIF, Delta}\nnetwork n {\n    dt = 0.1 ms\n    population E = LIF[10]\n    projection E -> E {\n        connect fixed_prob(0.1)\n        weight 0.1 mV\n        delay normal(-1.5 ms, 0.1 ms)\n        synapse Delta\n    }\n}\n";
    c.open(&u, text);
    let diags = c.diagnostics(&u);
    assert_eq!(diags.len(), 1, "{diags:?}");
    assert_eq!(diags[0]["code"], "E0404");
    let (line, col) = pos(text, "normal(-1.5", 0, 0);
    assert_eq!(
        diags[0]["range"]["start"],
        json!({"line": line, "character": col})
    );
    c.change(&u, 2, &text.replace("normal(-1.5 ms", "normal(1.5 ms"));
    assert_eq!(c.diagnostics(&u), Vec::<Value>::new());
    assert_eq!(c.shutdown(), 0);
}
