//! `envwatch demo`: the whole system on an embedded default (see [`crate::demo`]).

use std::process::ExitCode;

use crate::cli::DemoArgs;

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
