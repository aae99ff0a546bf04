//! Thin entry point over the library (mini-redis style): parse the command line, set up
//! logging, run the command, turn its error into a message and an exit status.

use std::process::ExitCode;

use clap::Parser;

// The judges (polars) allocate and free large buffers from several threads. glibc malloc
// hands freed memory back to the kernel and faults it in again zeroed: 40 % of `envwatch
// bench water` was the kernel's clear_page. mimalloc keeps it for reuse.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = envwatch::cli::Cli::parse();
    if let Err(e) = envwatch::logging::init(cli.log_format, cli.log_level.as_deref()) {
        eprintln!("envwatch: cannot set up logging: {e}");
        return ExitCode::from(2);
    }
    match envwatch::commands::dispatch(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("envwatch: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
