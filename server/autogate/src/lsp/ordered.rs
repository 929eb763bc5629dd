//! A tower layer that applies document sync in wire order and turns handler panics into errors.
//!
//! tower-lsp-server calls `Service::call` for each message in the order it reads them, then
//! runs the returned futures concurrently. Doing the document update inside `call` (before the
//! future exists) is what keeps `didOpen`/`didChange`/`didClose` in wire order.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures::FutureExt;
use futures::future::BoxFuture;
use tower::Service;
use tower_lsp_server::jsonrpc::{Error, ErrorCode, Request, Response};
use tower_lsp_server::ls_types::{
    DidChangeTextDocumentParams, DidCloseTextDocumentParams, DidOpenTextDocumentParams,
};

use super::Shared;

pub struct Ordered<S> {
    inner: S,
    shared: Arc<Shared>,
}

impl<S> Ordered<S> {
    pub fn new(inner: S, shared: Arc<Shared>) -> Self {
        Self { inner, shared }
    }
}

impl<S> Service<Request> for Ordered<S>
where
    S: Service<Request, Response = Option<Response>>,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
{
    type Response = Option<Response>;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Option<Response>, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        match self.inner.poll_ready(cx) {
            // tower-lsp-server answers Pending while `initialize` runs without registering a
            // waker, so a client that sends its next message before the answer would hang the
            // reader for good. Ask to be polled again; this only spins while initializing.
            Poll::Pending => {
                cx.waker().wake_by_ref();
                Poll::Pending
            }
            ready => ready,
        }
    }

    fn call(&mut self, req: Request) -> Self::Future {
        sync_document(&self.shared, &req);
        let id = req.id().cloned();
        let method = req.method().to_owned();
        let fut = self.inner.call(req);
        Box::pin(async move {
            match AssertUnwindSafe(fut).catch_unwind().await {
                Ok(result) => result,
                Err(panic) => {
                    let message = panic_message(&panic);
                    tracing::error!(%method, "handler panicked: {message}");
                    Ok(id.map(|id| {
                        Response::from_error(
                            id,
                            Error {
                                code: ErrorCode::InternalError,
                                message: format!("autogate failed handling {method}: {message}; nothing was applied").into(),
                                data: None,
                            },
                        )
                    }))
                }
            }
        })
    }
}

fn sync_document(shared: &Shared, req: &Request) {
    let method = req.method();
    if !matches!(
        method,
        "textDocument/didOpen" | "textDocument/didChange" | "textDocument/didClose"
    ) {
        return;
    }
    let Some(params) = req.params().cloned() else {
        return;
    };
    let Some(workspace) = shared.workspace.get() else {
        return;
    };
    let encoding = shared.encoding();
    let mut docs = shared.documents.lock().unwrap_or_else(|e| e.into_inner());
    match method {
        "textDocument/didOpen" => match serde_json::from_value::<DidOpenTextDocumentParams>(params)
        {
            Ok(p) => docs.open(workspace, p),
            Err(e) => tracing::error!("malformed didOpen: {e}"),
        },
        "textDocument/didChange" => {
            match serde_json::from_value::<DidChangeTextDocumentParams>(params) {
                Ok(p) => docs.change(p, encoding),
                Err(e) => tracing::error!("malformed didChange: {e}"),
            }
        }
        _ => match serde_json::from_value::<DidCloseTextDocumentParams>(params) {
            Ok(p) => {
                let path = docs.path_of(&p.text_document.uri).map(str::to_owned);
                docs.close(p);
                drop(docs);
                if let (Some(path), Some(mut gate)) = (path, shared.gate()) {
                    gate.parses.remove(&path);
                }
            }
            Err(e) => tracing::error!("malformed didClose: {e}"),
        },
    }
}

pub fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A service whose handler panics, standing in for any handler with a bug.
    #[derive(Clone)]
    struct Panicking;

    impl Service<Request> for Panicking {
        type Response = Option<Response>;
        type Error = std::convert::Infallible;
        type Future = BoxFuture<'static, Result<Option<Response>, Self::Error>>;

        fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
            Poll::Ready(Ok(()))
        }

        fn call(&mut self, _: Request) -> Self::Future {
            Box::pin(async { panic!("a bug in a handler") })
        }
    }

    #[tokio::test]
    async fn a_panicking_handler_becomes_an_internal_error_for_that_request() {
        let shared = Arc::new(Shared::new());
        let mut service = Ordered::new(Panicking, shared);
        let request = Request::build("workspace/executeCommand").id(7).finish();
        let response = service
            .call(request)
            .await
            .expect("infallible")
            .expect("a response");
        let error = response.error().expect("an error");
        assert_eq!(error.code, ErrorCode::InternalError);
        assert!(
            error.message.contains("a bug in a handler"),
            "{}",
            error.message
        );
        assert!(
            error.message.contains("nothing was applied"),
            "{}",
            error.message
        );
        // A notification has no answer, and the panic is still contained.
        let note = Request::build("textDocument/didSave").finish();
        assert!(service.call(note).await.expect("infallible").is_none());
    }
}
