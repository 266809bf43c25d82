//! Serving an axum router on a random loopback port for the life of a simulator.

use std::net::SocketAddr;
use tokio::task::JoinHandle;

/// A server running in the background; stops when dropped.
pub struct Running {
    addr: SocketAddr,
    task: JoinHandle<()>,
}

impl Running {
    pub async fn serve(router: axum::Router) -> Running {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind a loopback port");
        let addr = listener.local_addr().expect("local address");
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Running { addr, task }
    }

    /// `http://127.0.0.1:PORT` (no trailing slash).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.task.abort();
    }
}
