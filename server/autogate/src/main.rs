//! The `autogate` binary: the language server and the command line.

fn main() -> std::process::ExitCode {
    autogate::cli::main()
}
