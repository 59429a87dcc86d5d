//! The connection, the open documents and the message loop.

use super::position::{uri_to_path, LineIndex};
use super::{range_of, Analysis, Places};
use crate::diagnostic::{Diagnostic, Severity};
use crate::front::ast::{Import, Item};
use crate::source::{SourceId, SourceLoader};
use lsp_server::{Connection, ErrorCode, Message, Notification, Request, RequestId, Response};
use lsp_types::{
    CompletionOptions, DiagnosticRelatedInformation, DiagnosticSeverity, HoverProviderCapability,
    InitializeResult, NumberOrString, OneOf, PublishDiagnosticsParams, ServerCapabilities,
    ServerInfo, TextDocumentSyncCapability, TextDocumentSyncKind,
};
use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;

/// Runs the server on stdin/stdout until `exit`. Returns the process exit
/// code: 0 after `shutdown` then `exit`, 1 otherwise (as LSP asks).
pub fn run() -> i32 {
    let (connection, io_threads) = super::transport::stdio();
    let code = match serve(&connection) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("snnc lsp: {e}");
            1
        }
    };
    // The writer thread ends only when every sender is gone.
    drop(connection);
    if let Err(e) = io_threads.join() {
        eprintln!("snnc lsp: {e}");
    }
    code
}

pub fn capabilities() -> ServerCapabilities {
    ServerCapabilities {
        text_document_sync: Some(TextDocumentSyncCapability::Kind(TextDocumentSyncKind::FULL)),
        hover_provider: Some(HoverProviderCapability::Simple(true)),
        definition_provider: Some(OneOf::Left(true)),
        completion_provider: Some(CompletionOptions {
            trigger_characters: Some(vec![".".into()]),
            ..CompletionOptions::default()
        }),
        ..ServerCapabilities::default()
    }
}

fn serve(connection: &Connection) -> Result<i32, String> {
    let (id, _params) = connection.initialize_start().map_err(|e| e.to_string())?;
    let result = InitializeResult {
        capabilities: capabilities(),
        server_info: Some(ServerInfo {
            name: "snnc".into(),
            version: Some(env!("CARGO_PKG_VERSION").into()),
        }),
    };
    let result = serde_json::to_value(result).map_err(|e| e.to_string())?;
    connection
        .initialize_finish(id, result)
        .map_err(|e| e.to_string())?;

    let mut server = Server {
        connection,
        docs: HashMap::new(),
        analyses: HashMap::new(),
        published: HashMap::new(),
        places: Places {
            stdlib_dir: super::write_stdlib(),
            open: HashMap::new(),
        },
    };
    for msg in &connection.receiver {
        match msg {
            Message::Request(req) => {
                if req.method == "shutdown" {
                    return match connection.handle_shutdown(&req) {
                        Ok(_) => Ok(0),
                        Err(e) => Err(e.to_string()),
                    };
                }
                server.request(req);
            }
            Message::Notification(n) if n.method == "exit" => return Ok(1),
            Message::Notification(n) => server.notification(n),
            Message::Response(_) => {}
        }
    }
    // stdin closed without `exit`.
    Ok(1)
}

struct Server<'c> {
    connection: &'c Connection,
    /// Open documents: URI → text.
    docs: HashMap<String, String>,
    analyses: HashMap<String, Analysis>,
    /// Root URI → the other URIs its diagnostics were published to.
    published: HashMap<String, HashSet<String>>,
    places: Places,
}

impl Server<'_> {
    fn send(&self, msg: Message) {
        if self.connection.sender.send(msg).is_err() {
            eprintln!("snnc lsp: the client is gone");
        }
    }

    fn request(&mut self, req: Request) {
        let (id, method) = (req.id.clone(), req.method.clone());
        let outcome = catch_unwind(AssertUnwindSafe(|| self.answer(&req)));
        let response = match outcome {
            Ok(Ok(value)) => Response::new_ok(id, value),
            Ok(Err(resp)) => resp,
            Err(_) => {
                eprintln!("snnc lsp: internal error while answering `{method}`");
                Response::new_err(
                    id,
                    ErrorCode::InternalError as i32,
                    format!("snnc lsp: internal error in `{method}`"),
                )
            }
        };
        self.send(Message::Response(response));
    }

    fn answer(&mut self, req: &Request) -> Result<serde_json::Value, Response> {
        let bad = |id: &RequestId, e: serde_json::Error| {
            Response::new_err(id.clone(), ErrorCode::InvalidParams as i32, e.to_string())
        };
        let null = serde_json::Value::Null;
        match req.method.as_str() {
            "textDocument/hover" => {
                let p: lsp_types::HoverParams =
                    serde_json::from_value(req.params.clone()).map_err(|e| bad(&req.id, e))?;
                let pp = p.text_document_position_params;
                let uri = pp.text_document.uri.as_str().to_string();
                let Some(a) = self.analyses.get(&uri) else {
                    return Ok(null);
                };
                let offset = LineIndex::new(a.text()).offset(pp.position);
                Ok(serde_json::to_value(super::hover::hover(a, offset)).unwrap_or(null))
            }
            "textDocument/definition" => {
                let p: lsp_types::GotoDefinitionParams =
                    serde_json::from_value(req.params.clone()).map_err(|e| bad(&req.id, e))?;
                let pp = p.text_document_position_params;
                let uri = pp.text_document.uri.as_str().to_string();
                let Some(a) = self.analyses.get(&uri) else {
                    return Ok(null);
                };
                let offset = LineIndex::new(a.text()).offset(pp.position);
                let loc = super::definition::definition(a, &self.places, offset);
                Ok(serde_json::to_value(loc).unwrap_or(null))
            }
            "textDocument/completion" => {
                let p: lsp_types::CompletionParams =
                    serde_json::from_value(req.params.clone()).map_err(|e| bad(&req.id, e))?;
                let pp = p.text_document_position;
                let uri = pp.text_document.uri.as_str().to_string();
                let Some(a) = self.analyses.get(&uri) else {
                    return Ok(null);
                };
                let text = self.docs.get(&uri).map_or(a.text(), String::as_str);
                let offset = LineIndex::new(text).offset(pp.position);
                let items = super::completion::completion(a, text, offset);
                Ok(
                    serde_json::to_value(lsp_types::CompletionResponse::Array(items))
                        .unwrap_or(null),
                )
            }
            _ => Err(Response::new_err(
                req.id.clone(),
                ErrorCode::MethodNotFound as i32,
                format!("unsupported request `{}`", req.method),
            )),
        }
    }

    fn notification(&mut self, n: Notification) {
        let method = n.method.clone();
        if catch_unwind(AssertUnwindSafe(|| self.notified(n))).is_err() {
            eprintln!("snnc lsp: internal error while handling `{method}`");
        }
    }

    fn notified(&mut self, n: Notification) {
        match n.method.as_str() {
            "textDocument/didOpen" => {
                let Ok(p) =
                    serde_json::from_value::<lsp_types::DidOpenTextDocumentParams>(n.params)
                else {
                    eprintln!("snnc lsp: bad didOpen params");
                    return;
                };
                let uri = p.text_document.uri.as_str().to_string();
                if let Some(path) = uri_to_path(&uri) {
                    self.places.open.insert(path, uri.clone());
                }
                self.docs.insert(uri.clone(), p.text_document.text);
                self.changed(&uri);
            }
            "textDocument/didChange" => {
                let Ok(p) =
                    serde_json::from_value::<lsp_types::DidChangeTextDocumentParams>(n.params)
                else {
                    eprintln!("snnc lsp: bad didChange params");
                    return;
                };
                let uri = p.text_document.uri.as_str().to_string();
                // Full sync: the last change holds the whole text.
                if let Some(c) = p.content_changes.into_iter().last() {
                    self.docs.insert(uri.clone(), c.text);
                    self.changed(&uri);
                }
            }
            "textDocument/didClose" => {
                let Ok(p) =
                    serde_json::from_value::<lsp_types::DidCloseTextDocumentParams>(n.params)
                else {
                    return;
                };
                let uri = p.text_document.uri.as_str().to_string();
                self.docs.remove(&uri);
                self.analyses.remove(&uri);
                if let Some(path) = uri_to_path(&uri) {
                    self.places.open.remove(&path);
                }
                let mut clear: HashSet<String> = self.published.remove(&uri).unwrap_or_default();
                clear.insert(uri.clone());
                for u in clear {
                    self.publish(&u, Vec::new());
                }
                // Files importing it now read it from disk.
                let path = uri_to_path(&uri).map(|p| p.display().to_string());
                self.recheck_importers(&uri, path.as_deref());
            }
            _ => {}
        }
    }

    /// Rechecks `uri` and every open document that imports it.
    fn changed(&mut self, uri: &str) {
        self.check(uri);
        let name = self.analyses.get(uri).map(|a| a.name.clone());
        self.recheck_importers(uri, name.as_deref());
    }

    fn recheck_importers(&mut self, uri: &str, name: Option<&str>) {
        let Some(name) = name else { return };
        let importers: Vec<String> = self
            .analyses
            .iter()
            .filter(|(u, a)| u.as_str() != uri && a.out.sources.lookup(name).is_some())
            .map(|(u, _)| u.clone())
            .collect();
        for u in importers {
            self.check(&u);
        }
    }

    /// Checks one open document, stores the analysis and publishes its diagnostics.
    fn check(&mut self, uri: &str) {
        let Some(text) = self.docs.get(uri) else {
            return;
        };
        let name = match uri_to_path(uri) {
            Some(p) => p.display().to_string(),
            None => uri.to_string(),
        };
        let open: HashMap<PathBuf, &str> = self
            .docs
            .iter()
            .filter_map(|(u, t)| Some((uri_to_path(u)?, t.as_str())))
            .collect();
        let loader = BufferLoader {
            open: &open,
            loaded: RefCell::new(HashMap::new()),
        };
        let a = Analysis::new(uri, name, text, &loader);
        let by_uri = self.diagnostics(&a);
        self.analyses.insert(uri.to_string(), a);

        let before = self.published.remove(uri).unwrap_or_default();
        let mut now = HashSet::new();
        let mut root = Vec::new();
        for (u, diags) in by_uri {
            if u == uri {
                root = diags;
            } else {
                self.publish(&u, diags);
                now.insert(u);
            }
        }
        self.publish(uri, root);
        for stale in before.difference(&now) {
            if !self.docs.contains_key(stale) {
                self.publish(stale, Vec::new());
            }
        }
        self.published.insert(uri.to_string(), now);
    }

    fn publish(&self, uri: &str, diagnostics: Vec<lsp_types::Diagnostic>) {
        let Ok(uri) = uri.parse() else {
            eprintln!("snnc lsp: cannot publish to `{uri}`: not a URI");
            return;
        };
        let params = PublishDiagnosticsParams {
            uri,
            diagnostics,
            version: None,
        };
        self.send(Message::Notification(Notification::new(
            "textDocument/publishDiagnostics".into(),
            params,
        )));
    }

    /// The diagnostics of `a` grouped by the URI they are shown in. The root
    /// always has an entry (empty when clean). A diagnostic in an imported
    /// user file goes to that file (unless it is open: its own check reports
    /// it); one in the stdlib or an unnamed file goes to the import line.
    fn diagnostics(&self, a: &Analysis) -> HashMap<String, Vec<lsp_types::Diagnostic>> {
        let root = a.out.root().source;
        let mut out: HashMap<String, Vec<lsp_types::Diagnostic>> = HashMap::new();
        out.insert(a.uri.clone(), Vec::new());
        for d in &a.out.diagnostics {
            let Some(primary) = d.primary_span() else {
                let zero = lsp_types::Range::default();
                out.entry(a.uri.clone())
                    .or_default()
                    .push(self.convert(a, d, zero, None));
                continue;
            };
            if primary.source == root {
                let range = range_of(a, primary);
                out.entry(a.uri.clone())
                    .or_default()
                    .push(self.convert(a, d, range, None));
                continue;
            }
            let name = a.out.sources.get(primary.source).name.clone();
            let is_std = crate::stdlib::MODULES.iter().any(|(_, f, _)| *f == name);
            let user_uri = if is_std {
                None
            } else {
                self.places.uri_of(a, primary.source)
            };
            match user_uri {
                Some(u) if self.docs.contains_key(&u) => {}
                Some(u) => {
                    let range = range_of(a, primary);
                    out.entry(u)
                        .or_default()
                        .push(self.convert(a, d, range, None));
                }
                None => {
                    let span = import_span(a, primary.source);
                    let range = span.map(|s| range_of(a, s)).unwrap_or_default();
                    out.entry(a.uri.clone()).or_default().push(self.convert(
                        a,
                        d,
                        range,
                        Some(&name),
                    ));
                }
            }
        }
        out
    }

    /// One diagnostic in LSP form. `moved_from` names the file the problem
    /// really is in, when it is shown at an import line instead.
    fn convert(
        &self,
        a: &Analysis,
        d: &Diagnostic,
        range: lsp_types::Range,
        moved_from: Option<&str>,
    ) -> lsp_types::Diagnostic {
        let mut message = match moved_from {
            Some(file) => format!("in {file}: {}", d.message),
            None => d.message.clone(),
        };
        if let Some(l) = d.labels.iter().find(|l| l.primary) {
            if !l.message.is_empty() {
                message.push_str(&format!("\n{}", l.message));
            }
        }
        for n in &d.notes {
            message.push_str(&format!("\nnote: {n}"));
        }
        if let Some(h) = &d.help {
            message.push_str(&format!("\nhelp: {h}"));
        }
        let related: Vec<DiagnosticRelatedInformation> = d
            .labels
            .iter()
            .filter(|l| !l.primary)
            .filter_map(|l| {
                Some(DiagnosticRelatedInformation {
                    location: self.places.location(a, l.span)?,
                    message: if l.message.is_empty() {
                        "related".into()
                    } else {
                        l.message.clone()
                    },
                })
            })
            .collect();
        lsp_types::Diagnostic {
            range,
            severity: Some(match d.severity {
                Severity::Error => DiagnosticSeverity::ERROR,
                Severity::Warning => DiagnosticSeverity::WARNING,
            }),
            code: Some(NumberOrString::String(d.code.to_string())),
            source: Some("snnc".into()),
            message,
            related_information: (!related.is_empty()).then_some(related),
            ..lsp_types::Diagnostic::default()
        }
    }
}

/// The import of the root file through which file `id` was loaded (directly
/// or through other imports); the first import when that cannot be told.
fn import_span(a: &Analysis, id: SourceId) -> Option<crate::source::Span> {
    let imports: Vec<&Import> = a
        .out
        .root()
        .ast
        .items
        .iter()
        .filter_map(|i| match i {
            Item::Import(imp) => Some(imp),
            _ => None,
        })
        .collect();
    let path_of =
        |imp: &Import| -> Vec<String> { imp.module.iter().map(|i| i.name.clone()).collect() };
    let mut name = a.out.sources.get(id).name.clone();
    for _ in 0..64 {
        if let Some(module) = name
            .strip_prefix("std/")
            .and_then(|f| f.strip_suffix(".snn"))
        {
            if let Some(imp) = imports.iter().find(|imp| {
                let p = path_of(imp);
                p == ["std"] || p == ["std", module]
            }) {
                return Some(imp.span);
            }
            break;
        }
        let Some((from, path)) = a.loaded.get(&name) else {
            break;
        };
        if *from == a.name {
            if let Some(imp) = imports.iter().find(|imp| path_of(imp) == *path) {
                return Some(imp.span);
            }
            break;
        }
        name = from.clone();
    }
    imports.first().map(|i| i.span)
}

/// Loads user modules from the open buffers first, then from disk, relative
/// to the importing file as [`crate::source::DiskLoader`] does.
pub struct BufferLoader<'a> {
    pub open: &'a HashMap<PathBuf, &'a str>,
    /// What was loaded: display name → (importing file, module path).
    pub loaded: RefCell<HashMap<String, (String, Vec<String>)>>,
}

impl SourceLoader for BufferLoader<'_> {
    fn load(&self, from: &str, path: &[String]) -> Result<(String, String), String> {
        let base = std::path::Path::new(from)
            .parent()
            .unwrap_or(std::path::Path::new("."));
        let mut file = base.to_path_buf();
        for seg in path {
            file.push(seg);
        }
        file.set_extension("snn");
        let name = file.display().to_string();
        let text = match self.open.get(&file) {
            Some(t) => t.to_string(),
            None => {
                std::fs::read_to_string(&file).map_err(|e| format!("cannot read `{name}`: {e}"))?
            }
        };
        self.loaded
            .borrow_mut()
            .insert(name.clone(), (from.to_string(), path.to_vec()));
        Ok((name, text))
    }
}
