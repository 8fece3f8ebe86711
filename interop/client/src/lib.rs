//! Cohort's client for the MLS working group's interop harness: the `MLSClient` gRPC service
//! of `mls_client.proto` (vendored in `interop/proto/`), served over the library's public API.
//!
//! One [`Service`] holds any number of group states, pending joins (transactions), external
//! signers and reinitialisations, each under a numeric id as the protocol hands them out.
//! The binary `cohort-interop-client --port N` serves it; the scenario runner
//! (`interop/tests/configs.rs`) starts it in-process.
#![forbid(unsafe_code)]

/// The messages and service of `mls_client.proto`, generated at build time.
#[allow(missing_docs, clippy::all, clippy::pedantic)]
pub mod proto {
    tonic::include_proto!("mls_client");
}

mod service;
mod state;
mod wire;

pub use service::Service;
pub use state::Store;

use std::net::SocketAddr;

/// Largest gRPC message accepted or sent: a Welcome into a large group with its tree is
/// megabytes, well above tonic's 4 MiB default.
pub const MAX_MESSAGE_SIZE: usize = 256 << 20;

/// The gRPC server for [`Service`], with message limits raised to [`MAX_MESSAGE_SIZE`].
pub fn server(service: Service) -> proto::mls_client_server::MlsClientServer<Service> {
    proto::mls_client_server::MlsClientServer::new(service)
        .max_decoding_message_size(MAX_MESSAGE_SIZE)
        .max_encoding_message_size(MAX_MESSAGE_SIZE)
}

/// Bind `addr` (port 0 picks a free one) and serve a fresh [`Service`] on it in the
/// background of the current tokio runtime; returns the address actually bound.
///
/// Accepted sockets set `TCP_NODELAY`: with Nagle's algorithm on, a response written in
/// several segments waits for the peer's delayed ACK, about 40 ms per RPC here.
pub async fn spawn(addr: SocketAddr) -> std::io::Result<SocketAddr> {
    let incoming = tonic::transport::server::TcpIncoming::bind(addr)?.with_nodelay(Some(true));
    let local = incoming.local_addr()?;
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(server(Service::default()))
            .serve_with_incoming(incoming),
    );
    Ok(local)
}
