//! `envwatch report --period 2026-10|2026 [--format html|md] [--lang zh|en] --out DIR`.

use std::process::ExitCode;

use crate::cli::{Lang as LangArg, ReportArgs, ReportFormat};
use crate::config::Config;
use crate::report::{self, Format, Lang, ReportInputs, ReportPeriod};

pub fn run(args: &ReportArgs) -> anyhow::Result<ExitCode> {
    let period = ReportPeriod::parse(&args.period)?;
    let dir = &args.config.dir();
    let config = Config::load(dir).map_err(|diags| {
        for d in diags.iter() {
            eprintln!("{d}");
        }
        anyhow::anyhow!("{}: {} problem(s)", dir.display(), diags.len())
    })?;
    let db = config.store_path();
    let conn = report::data::open_store(&db)?;
    let inputs = ReportInputs::from_config(&config);
    let data = report::load(&conn, &inputs, period)?;
    let format = match args.format {
        ReportFormat::Html => Format::Html,
        ReportFormat::Md => Format::Markdown,
    };
    let lang = match args.lang {
        LangArg::Zh => Lang::Zh,
        LangArg::En => Lang::En,
    };
    let path = report::write(&data, format, lang, &args.out)?;
    println!("{}", path.display());
    Ok(ExitCode::SUCCESS)
}
