//! `cohort-interop-client [--host H] [--port N]`: serve Cohort's `MLSClient` (the MLS
//! working group's interop harness, `mls_client.proto`) over gRPC, as the other
//! implementations' clients do.
#![forbid(unsafe_code)]

use std::net::{SocketAddr, ToSocketAddrs};

const USAGE: &str = "usage: cohort-interop-client [--host HOST] [--port PORT]\n\
    Serves the MLSClient gRPC service of mls_client.proto (default 127.0.0.1:50051).";

fn parse_args() -> Result<SocketAddr, String> {
    let (mut host, mut port) = ("127.0.0.1".to_string(), 50051u16);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--host" => host = value()?,
            "--port" => port = value()?.parse().map_err(|e| format!("--port: {e}"))?,
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument {other}")),
        }
    }
    (host.as_str(), port)
        .to_socket_addrs()
        .map_err(|e| format!("{host}: {e}"))?
        .next()
        .ok_or(format!("{host} resolves to no address"))
}

#[tokio::main]
async fn main() {
    let addr = match parse_args() {
        Ok(addr) => addr,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("{e}");
            }
            eprintln!("{USAGE}");
            std::process::exit(2);
        }
    };
    let incoming = match tonic::transport::server::TcpIncoming::bind(addr) {
        Ok(incoming) => incoming.with_nodelay(Some(true)),
        Err(e) => {
            eprintln!("cannot listen on {addr}: {e}");
            std::process::exit(1);
        }
    };
    if let Ok(local) = incoming.local_addr() {
        println!("cohort-interop-client listening on {local}");
    }
    let served = tonic::transport::Server::builder()
        .add_service(cohort_interop_client::server(
            cohort_interop_client::Service::default(),
        ))
        .serve_with_incoming(incoming)
        .await;
    if let Err(e) = served {
        eprintln!("server error: {e}");
        std::process::exit(1);
    }
}
