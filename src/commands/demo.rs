//! `envwatch demo`: the whole system on an embedded default (see `crate::demo`). Needs the
//! `demo` cargo feature (on by default) for its embedded MQTT broker; the daemon's .deb is
//! built without it.

use std::process::ExitCode;

use crate::cli::DemoArgs;

#[cfg(feature = "demo")]
pub fn run(args: &DemoArgs) -> anyhow::Result<ExitCode> {
    let out = args
        .out
        .clone()
        .unwrap_or_else(crate::demo::run::default_out);
    std::fs::create_dir_all(&out)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let summary = rt.block_on(crate::demo::run::run(args.days, &out, args.influx.clone()))?;
    println!("{}", crate::demo::run::render(&summary));
    println!("summary: {}", out.join("summary.json").display());
    Ok(ExitCode::SUCCESS)
}

/// Built without the embedded broker (e.g. the .deb): say how to get the demo.
#[cfg(not(feature = "demo"))]
pub fn run(_args: &DemoArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!(
        "`envwatch demo` is not in this build: it was compiled without the `demo` feature \
         (the demo's embedded MQTT broker, which the packaged daemon leaves out). Run it from a \
         source checkout with `cargo run --release -- demo` (the feature is on by default), or \
         build with `cargo build --release --features demo`"
    )
}
