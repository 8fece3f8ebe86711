//! Compile `proto/mls_client.proto` (the harness's copy, vendored in this repository) with
//! protox, so that no system `protoc` is needed.
fn main() -> Result<(), Box<dyn std::error::Error>> {
    let fds = protox::compile(["mls_client.proto"], ["../proto"])?;
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .compile_fds(fds)?;
    println!("cargo:rerun-if-changed=../proto/mls_client.proto");
    Ok(())
}
