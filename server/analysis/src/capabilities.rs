//! Capabilities as data: what a resolved call reaches (process execution, code evaluation,
//! deserialization, …), per language, keyed by the qualified target that `resolve` computes.
//!
//! A row is `(languages, target, capability)`. Targets are written as the resolver spells
//! them: `subprocess.check_call`, `child_process.exec`, `std::process::Command::new`,
//! `os/exec.Command`, `java.lang.ProcessBuilder`, `system`. A target matches the row's and
//! everything under it (`subprocess` matches `subprocess.run`; `os.system` matches
//! `os.system` and a call on its result, not `os.system_info`); a trailing `*` matches any
//! continuation (`os.exec*`); a leading `*.` matches a method of that name on any receiver
//! (`*.readObject`). Adding a capability is adding a row.

use crate::impact::Domain;
use crate::level::Level;

/// What a call can do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Capability {
    Process,
    CodeEval,
    /// The called function or module is computed at run time (only when the row's
    /// `literal_arg` is not a literal).
    Dynamic,
    Deserialization,
    FilePermissions,
    Network,
    /// A broken hash or cipher.
    WeakCrypto,
    /// A non-cryptographic random source: only raised where a secret is made.
    WeakRandom,
    /// Certificate verification turned off, or a custom verifier installed.
    Tls,
    /// SQL whose text is built at run time (only when the row's `literal_arg` is built from
    /// pieces: a concatenation, an interpolation, a format call).
    Sql,
    UnsafeMemory,
}

impl Capability {
    /// The report's domain.
    pub fn domain(self) -> Domain {
        match self {
            Capability::Process | Capability::CodeEval | Capability::Dynamic => Domain::Shell,
            Capability::Deserialization => Domain::Deserialization,
            Capability::FilePermissions => Domain::FilePermissions,
            Capability::Network | Capability::Tls => Domain::Network,
            Capability::WeakCrypto | Capability::WeakRandom => Domain::Crypto,
            Capability::UnsafeMemory => Domain::Unsafe,
            Capability::Sql => Domain::Sql,
        }
    }

    /// For people: what the capability is.
    pub fn what(self) -> &'static str {
        match self {
            Capability::Process => "process execution",
            Capability::CodeEval => "code evaluation",
            Capability::Dynamic => "dynamic dispatch",
            Capability::Deserialization => "unsafe deserialization",
            Capability::FilePermissions => "file permissions",
            Capability::Network => "network access",
            Capability::WeakCrypto => "a broken hash or cipher",
            Capability::WeakRandom => "not a cryptographic source",
            Capability::Tls => "TLS verification",
            Capability::UnsafeMemory => "unchecked memory operation",
            Capability::Sql => "SQL built at run time",
        }
    }

    /// The level newly reaching it raises.
    pub fn level(self) -> Level {
        Level::High
    }
}

/// One row of [`CAPABILITIES`].
#[derive(Clone, Copy, Debug)]
pub struct Row {
    /// `Language::name`s the row applies to.
    pub languages: &'static [&'static str],
    pub target: &'static str,
    pub capability: Capability,
    /// For [`Capability::Dynamic`]: the argument that names what is called; a string literal
    /// there is resolved statically instead (`getattr(os, "path")`, `require("fs")`). For
    /// [`Capability::Sql`]: the argument that holds the SQL text; the row fires only when that
    /// text is built there from pieces.
    pub literal_arg: Option<usize>,
}

const PY: &[&str] = &["python"];
const JS: &[&str] = &["javascript", "typescript", "tsx"];
const RS: &[&str] = &["rust"];
const GO: &[&str] = &["go"];
const JAVA: &[&str] = &["java"];
const C: &[&str] = &["c"];

const fn row(
    languages: &'static [&'static str],
    target: &'static str,
    capability: Capability,
) -> Row {
    Row {
        languages,
        target,
        capability,
        literal_arg: None,
    }
}

const fn sql(languages: &'static [&'static str], target: &'static str, arg: usize) -> Row {
    Row {
        languages,
        target,
        capability: Capability::Sql,
        literal_arg: Some(arg),
    }
}

const fn dynamic(languages: &'static [&'static str], target: &'static str, arg: usize) -> Row {
    Row {
        languages,
        target,
        capability: Capability::Dynamic,
        literal_arg: Some(arg),
    }
}

use Capability::{
    CodeEval, Deserialization, Dynamic, FilePermissions, Network, Process, Tls, UnsafeMemory,
    WeakCrypto, WeakRandom,
};

/// The capability table.
pub const CAPABILITIES: &[Row] = &[
    // Python
    row(PY, "subprocess.run", Process),
    row(PY, "subprocess.call", Process),
    row(PY, "subprocess.check_call", Process),
    row(PY, "subprocess.check_output", Process),
    row(PY, "subprocess.Popen", Process),
    row(PY, "subprocess.getoutput", Process),
    row(PY, "subprocess.getstatusoutput", Process),
    row(PY, "os.system", Process),
    row(PY, "os.popen", Process),
    row(PY, "os.exec*", Process),
    row(PY, "os.spawn*", Process),
    row(PY, "os.posix_spawn*", Process),
    row(PY, "os.startfile", Process),
    row(PY, "pty.spawn", Process),
    row(PY, "commands.getoutput", Process),
    row(PY, "commands.getstatusoutput", Process),
    row(PY, "asyncio.create_subprocess_*", Process),
    row(PY, "eval", CodeEval),
    row(PY, "exec", CodeEval),
    row(PY, "compile", CodeEval),
    row(PY, "builtins.eval", CodeEval),
    row(PY, "builtins.exec", CodeEval),
    row(PY, "builtins.compile", CodeEval),
    row(PY, "code.interact", CodeEval),
    row(PY, "code.InteractiveInterpreter", CodeEval),
    row(PY, "runpy.run_path", CodeEval),
    row(PY, "runpy.run_module", CodeEval),
    dynamic(PY, "getattr", 1),
    dynamic(PY, "builtins.getattr", 1),
    dynamic(PY, "__import__", 0),
    dynamic(PY, "builtins.__import__", 0),
    dynamic(PY, "importlib.import_module", 0),
    dynamic(PY, "importlib.__import__", 0),
    row(PY, "pickle.load*", Deserialization),
    row(PY, "pickle.Unpickler", Deserialization),
    row(PY, "_pickle.load*", Deserialization),
    row(PY, "cPickle.load*", Deserialization),
    row(PY, "dill.load*", Deserialization),
    row(PY, "marshal.load*", Deserialization),
    row(PY, "shelve.open", Deserialization),
    row(PY, "yaml.load", Deserialization),
    row(PY, "yaml.unsafe_load*", Deserialization),
    row(PY, "yaml.full_load", Deserialization),
    row(PY, "jsonpickle.decode", Deserialization),
    row(PY, "os.chmod", FilePermissions),
    row(PY, "os.fchmod", FilePermissions),
    row(PY, "os.lchmod", FilePermissions),
    row(PY, "os.chown", FilePermissions),
    row(PY, "os.lchown", FilePermissions),
    row(PY, "os.umask", FilePermissions),
    row(PY, "os.setuid", FilePermissions),
    row(PY, "shutil.chown", FilePermissions),
    row(PY, "*.chmod", FilePermissions),
    row(PY, "socket.socket", Network),
    row(PY, "socket.create_connection", Network),
    row(PY, "urllib.request.urlopen", Network),
    row(PY, "http.client.HTTPConnection", Network),
    row(PY, "http.client.HTTPSConnection", Network),
    row(PY, "ftplib", Network),
    row(PY, "smtplib", Network),
    row(PY, "telnetlib", Network),
    row(PY, "ssl._create_unverified_context", Tls),
    row(PY, "ssl._create_stdlib_context", Tls),
    row(PY, "ssl.CERT_NONE", Tls),
    row(PY, "urllib3.disable_warnings", Tls),
    row(PY, "hashlib.md5", WeakCrypto),
    row(PY, "hashlib.sha1", WeakCrypto),
    row(PY, "Crypto.Cipher.DES", WeakCrypto),
    row(PY, "Crypto.Cipher.ARC4", WeakCrypto),
    row(PY, "Crypto.Hash.MD5", WeakCrypto),
    row(PY, "random.random", WeakRandom),
    row(PY, "random.randint", WeakRandom),
    row(PY, "random.randrange", WeakRandom),
    row(PY, "random.choice", WeakRandom),
    row(PY, "random.choices", WeakRandom),
    row(PY, "random.getrandbits", WeakRandom),
    row(PY, "random.randbytes", WeakRandom),
    row(PY, "random.sample", WeakRandom),
    row(PY, "random.uniform", WeakRandom),
    row(PY, "random.Random", WeakRandom),
    row(PY, "numpy.random", WeakRandom),
    // JavaScript / TypeScript
    row(JS, "child_process", Process),
    row(JS, "shelljs.exec", Process),
    row(JS, "execa", Process),
    row(JS, "cross-spawn", Process),
    row(JS, "Deno.run", Process),
    row(JS, "Deno.Command", Process),
    row(JS, "Bun.spawn*", Process),
    row(JS, "process.binding", Process),
    row(JS, "eval", CodeEval),
    row(JS, "Function", CodeEval),
    row(JS, "vm", CodeEval),
    row(JS, "node:vm", CodeEval),
    row(JS, "Reflect.apply", Dynamic),
    row(JS, "Reflect.construct", Dynamic),
    dynamic(JS, "require", 0),
    dynamic(JS, "import", 0),
    dynamic(JS, "module.require", 0),
    dynamic(JS, "process.mainModule.require", 0),
    // `[].constructor.constructor("code")`: the Function constructor reached through any
    // object.
    row(JS, "*.constructor", CodeEval),
    row(JS, "node-serialize", Deserialization),
    row(JS, "serialize-to-js.deserialize", Deserialization),
    row(JS, "v8.deserialize", Deserialization),
    row(JS, "fs.chmod*", FilePermissions),
    row(JS, "fs.fchmod*", FilePermissions),
    row(JS, "fs.lchmod*", FilePermissions),
    row(JS, "fs.chown*", FilePermissions),
    row(JS, "fs.fchown*", FilePermissions),
    row(JS, "fs.lchown*", FilePermissions),
    row(JS, "fs.promises.chmod", FilePermissions),
    row(JS, "fs/promises.chmod", FilePermissions),
    row(JS, "fs/promises.chown", FilePermissions),
    row(JS, "http.request", Network),
    row(JS, "http.get", Network),
    row(JS, "https.request", Network),
    row(JS, "https.get", Network),
    row(JS, "net.connect", Network),
    row(JS, "net.createConnection", Network),
    row(JS, "net.Socket", Network),
    row(JS, "dgram", Network),
    row(JS, "crypto.createCipher", WeakCrypto),
    row(JS, "crypto.createDecipher", WeakCrypto),
    row(JS, "md5", WeakCrypto),
    row(JS, "Math.random", WeakRandom),
    // Rust
    row(RS, "std::process::Command", Process),
    row(RS, "tokio::process::Command", Process),
    row(RS, "async_process::Command", Process),
    row(RS, "duct::cmd", Process),
    row(RS, "std::os::unix::process::CommandExt", Process),
    row(RS, "libloading", Dynamic),
    row(RS, "libc::dlopen", Dynamic),
    row(RS, "libc::dlsym", Dynamic),
    row(RS, "std::mem::transmute", UnsafeMemory),
    row(RS, "std::ptr::read", UnsafeMemory),
    row(RS, "std::ptr::write", UnsafeMemory),
    row(RS, "std::slice::from_raw_parts", UnsafeMemory),
    row(RS, "std::slice::from_raw_parts_mut", UnsafeMemory),
    row(RS, "bincode::deserialize*", Deserialization),
    row(RS, "bincode::decode_from_slice", Deserialization),
    row(RS, "serde_pickle", Deserialization),
    row(RS, "std::fs::set_permissions", FilePermissions),
    row(RS, "std::fs::Permissions::from_mode", FilePermissions),
    row(RS, "*.from_mode", FilePermissions),
    row(RS, "*.set_mode", FilePermissions),
    row(RS, "*.set_permissions", FilePermissions),
    row(RS, "std::net::TcpStream", Network),
    row(RS, "std::net::TcpListener", Network),
    row(RS, "std::net::UdpSocket", Network),
    row(RS, "tokio::net", Network),
    row(RS, "reqwest", Network),
    row(RS, "ureq", Network),
    row(RS, "*.danger_accept_invalid_certs", Tls),
    row(RS, "*.danger_accept_invalid_hostnames", Tls),
    row(RS, "*.set_certificate_verifier", Tls),
    row(RS, "*.with_custom_certificate_verifier", Tls),
    row(RS, "md5", WeakCrypto),
    row(RS, "md-5", WeakCrypto),
    row(RS, "sha1", WeakCrypto),
    row(RS, "sha1_smol", WeakCrypto),
    row(RS, "des", WeakCrypto),
    row(RS, "rc4", WeakCrypto),
    row(RS, "rand::rngs::SmallRng", WeakRandom),
    row(RS, "rand::rngs::mock", WeakRandom),
    row(RS, "rand_xorshift", WeakRandom),
    row(RS, "rand_pcg", WeakRandom),
    row(RS, "fastrand", WeakRandom),
    row(RS, "oorandom", WeakRandom),
    // Go
    row(GO, "os/exec.Command*", Process),
    row(GO, "syscall.Exec", Process),
    row(GO, "syscall.ForkExec", Process),
    row(GO, "os.StartProcess", Process),
    row(GO, "plugin.Open", Dynamic),
    row(GO, "*.MethodByName", Dynamic),
    row(GO, "unsafe", UnsafeMemory),
    row(GO, "encoding/gob", Deserialization),
    row(GO, "os.Chmod", FilePermissions),
    row(GO, "os.Chown", FilePermissions),
    row(GO, "os.Lchown", FilePermissions),
    row(GO, "syscall.Umask", FilePermissions),
    row(GO, "syscall.Setuid", FilePermissions),
    row(GO, "*.Chmod", FilePermissions),
    row(GO, "net.Dial*", Network),
    row(GO, "net.Listen*", Network),
    row(GO, "net/http.Get", Network),
    row(GO, "net/http.Post*", Network),
    row(GO, "net/http.NewRequest*", Network),
    row(GO, "net/http.ListenAndServe*", Network),
    row(GO, "crypto/md5", WeakCrypto),
    row(GO, "crypto/sha1", WeakCrypto),
    row(GO, "crypto/des", WeakCrypto),
    row(GO, "crypto/rc4", WeakCrypto),
    row(GO, "math/rand", WeakRandom),
    // Java
    row(JAVA, "java.lang.Runtime.getRuntime().exec", Process),
    row(JAVA, "java.lang.Runtime.exec", Process),
    row(JAVA, "java.lang.ProcessBuilder", Process),
    row(JAVA, "org.apache.commons.exec", Process),
    row(JAVA, "javax.script", CodeEval),
    row(JAVA, "groovy.lang.GroovyShell", CodeEval),
    row(JAVA, "*.getEngineByName", CodeEval),
    row(JAVA, "java.lang.Class.forName", Dynamic),
    row(JAVA, "java.lang.reflect.Method.invoke", Dynamic),
    row(JAVA, "java.lang.invoke.MethodHandles", Dynamic),
    dynamic(JAVA, "*.getDeclaredMethod", 0),
    dynamic(JAVA, "*.getMethod", 0),
    row(JAVA, "java.io.ObjectInputStream", Deserialization),
    row(JAVA, "java.beans.XMLDecoder", Deserialization),
    row(JAVA, "*.readObject", Deserialization),
    row(JAVA, "*.readUnshared", Deserialization),
    row(JAVA, "*.setExecutable", FilePermissions),
    row(JAVA, "*.setWritable", FilePermissions),
    row(JAVA, "*.setReadable", FilePermissions),
    row(
        JAVA,
        "java.nio.file.Files.setPosixFilePermissions",
        FilePermissions,
    ),
    row(
        JAVA,
        "java.nio.file.attribute.PosixFilePermissions",
        FilePermissions,
    ),
    row(JAVA, "java.net.Socket", Network),
    row(JAVA, "java.net.ServerSocket", Network),
    row(JAVA, "*.openConnection", Network),
    row(JAVA, "java.net.http.HttpClient", Network),
    row(JAVA, "*.setHostnameVerifier", Tls),
    row(JAVA, "*.setDefaultHostnameVerifier", Tls),
    row(JAVA, "org.apache.http.conn.ssl.NoopHostnameVerifier", Tls),
    row(JAVA, "org.apache.http.conn.ssl.TrustAllStrategy", Tls),
    row(JAVA, "java.util.Random", WeakRandom),
    row(JAVA, "java.lang.Math.random", WeakRandom),
    row(
        JAVA,
        "org.apache.commons.lang3.RandomStringUtils",
        WeakRandom,
    ),
    row(
        JAVA,
        "org.apache.commons.lang.RandomStringUtils",
        WeakRandom,
    ),
    // C
    row(C, "system", Process),
    row(C, "popen", Process),
    row(C, "_popen", Process),
    row(C, "execl", Process),
    row(C, "execlp", Process),
    row(C, "execle", Process),
    row(C, "execv", Process),
    row(C, "execvp", Process),
    row(C, "execve", Process),
    row(C, "execvpe", Process),
    row(C, "fexecve", Process),
    row(C, "fork", Process),
    row(C, "vfork", Process),
    row(C, "posix_spawn", Process),
    row(C, "posix_spawnp", Process),
    row(C, "WinExec", Process),
    row(C, "ShellExecute*", Process),
    row(C, "CreateProcess*", Process),
    row(C, "dlopen", Dynamic),
    row(C, "dlsym", Dynamic),
    row(C, "GetProcAddress", Dynamic),
    row(C, "LoadLibrary*", Dynamic),
    row(C, "strcpy", UnsafeMemory),
    row(C, "strcat", UnsafeMemory),
    row(C, "sprintf", UnsafeMemory),
    row(C, "vsprintf", UnsafeMemory),
    row(C, "gets", UnsafeMemory),
    row(C, "memcpy", UnsafeMemory),
    row(C, "alloca", UnsafeMemory),
    row(C, "chmod", FilePermissions),
    row(C, "fchmod", FilePermissions),
    row(C, "chown", FilePermissions),
    row(C, "fchown", FilePermissions),
    row(C, "lchown", FilePermissions),
    row(C, "umask", FilePermissions),
    row(C, "setuid", FilePermissions),
    row(C, "setgid", FilePermissions),
    row(C, "seteuid", FilePermissions),
    row(C, "socket", Network),
    row(C, "connect", Network),
    row(C, "bind", Network),
    row(C, "listen", Network),
    row(C, "accept", Network),
    row(C, "MD5", WeakCrypto),
    row(C, "MD5_*", WeakCrypto),
    row(C, "SHA1", WeakCrypto),
    row(C, "SHA1_*", WeakCrypto),
    row(C, "EVP_md5", WeakCrypto),
    row(C, "EVP_sha1", WeakCrypto),
    row(C, "EVP_des_*", WeakCrypto),
    row(C, "EVP_rc4", WeakCrypto),
    row(C, "DES_*", WeakCrypto),
    row(C, "rand", WeakRandom),
    row(C, "random", WeakRandom),
    row(C, "drand48", WeakRandom),
    row(C, "lrand48", WeakRandom),
    row(C, "mrand48", WeakRandom),
    // SQL text built at run time
    sql(PY, "*.execute", 0),
    sql(PY, "*.executemany", 0),
    sql(PY, "*.executescript", 0),
    sql(PY, "*.raw", 0),
    sql(PY, "sqlalchemy.text", 0),
    sql(JS, "*.query", 0),
    sql(JS, "*.raw", 0),
    sql(JS, "*.execute", 0),
    sql(JS, "*.exec", 0),
    sql(JS, "*.prepare", 0),
    sql(RS, "sqlx::query", 0),
    sql(RS, "sqlx::query_as", 0),
    sql(RS, "*.execute", 0),
    sql(RS, "*.query_row", 0),
    sql(RS, "*.prepare", 0),
    sql(GO, "*.Exec", 0),
    sql(GO, "*.Query", 0),
    sql(GO, "*.QueryRow", 0),
    sql(GO, "*.Prepare", 0),
    sql(GO, "*.ExecContext", 1),
    sql(GO, "*.QueryContext", 1),
    sql(GO, "*.QueryRowContext", 1),
    sql(JAVA, "*.executeQuery", 0),
    sql(JAVA, "*.executeUpdate", 0),
    sql(JAVA, "*.execute", 0),
    sql(JAVA, "*.addBatch", 0),
    sql(JAVA, "*.prepareStatement", 0),
    sql(JAVA, "*.createQuery", 0),
    sql(JAVA, "*.createNativeQuery", 0),
    sql(C, "sqlite3_exec", 1),
    sql(C, "sqlite3_prepare*", 1),
    sql(C, "mysql_query", 1),
    sql(C, "mysql_real_query", 1),
    sql(C, "PQexec", 1),
];

/// Whether `target` (a resolved call target) is what `pattern` names.
pub fn matches(pattern: &str, target: &str) -> bool {
    if let Some(method) = pattern.strip_prefix("*.") {
        let last = target
            .rsplit(['.', ':'])
            .next()
            .unwrap_or(target)
            .trim_end_matches("()");
        return last == method;
    }
    if let Some(prefix) = pattern.strip_suffix('*') {
        return target.starts_with(prefix);
    }
    match target.strip_prefix(pattern) {
        Some(rest) => {
            rest.is_empty()
                || rest.starts_with('.')
                || rest.starts_with('(')
                || rest.starts_with("::")
                || rest.starts_with('/')
        }
        None => false,
    }
}

/// The rows of `language` that `target` matches, most specific first.
pub fn lookup(language: &str, target: &str) -> impl Iterator<Item = &'static Row> {
    let target = target.to_owned();
    let language = language.to_owned();
    CAPABILITIES
        .iter()
        .filter(move |r| r.languages.contains(&language.as_str()) && matches(r.target, &target))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_match_on_boundaries() {
        assert!(matches("subprocess.run", "subprocess.run().stdout"));
        assert!(matches("os.system", "os.system"));
        assert!(!matches("os.system", "os.system_info"));
        assert!(matches("os.exec*", "os.execvp"));
        assert!(matches("*.readObject", "?.readObject"));
        assert!(matches(
            "*.readObject",
            "java.io.ObjectInputStream.readObject"
        ));
        assert!(!matches("*.readObject", "readObjects"));
        assert!(matches(
            "java.lang.Runtime.getRuntime().exec",
            "java.lang.Runtime.getRuntime().exec"
        ));
        assert!(matches(
            "std::process::Command",
            "std::process::Command::new"
        ));
        assert!(matches("os/exec.Command*", "os/exec.CommandContext"));
        assert!(!matches("math/rand", "crypto/rand.Read"));
        assert!(!matches("system", "?.system"));
    }

    #[test]
    fn every_row_names_a_language_and_a_target() {
        for r in CAPABILITIES {
            assert!(!r.languages.is_empty() && !r.target.is_empty(), "{r:?}");
            assert!(
                r.literal_arg.is_none() || matches!(r.capability, Dynamic | Capability::Sql),
                "{r:?}"
            );
        }
        assert!(lookup("python", "os.system").any(|r| r.capability == Process));
        assert!(lookup("go", "crypto/rand.Read").next().is_none());
    }
}
