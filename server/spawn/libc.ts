/**
 * The C library calls the posix_spawn route needs, through Deno's FFI, with the constants and
 * struct sizes of the two OSes it knows: glibc Linux and Darwin.
 *
 * @module
 */

const _SYMBOLS = {
  posix_spawn: { parameters: ["buffer", "buffer", "buffer", "buffer", "buffer", "pointer"], result: "i32" },
  posix_spawnattr_init: { parameters: ["buffer"], result: "i32" },
  posix_spawnattr_destroy: { parameters: ["buffer"], result: "i32" },
  posix_spawnattr_setflags: { parameters: ["buffer", "i16"], result: "i32" },
  posix_spawnattr_setsigmask: { parameters: ["buffer", "buffer"], result: "i32" },
  posix_spawnattr_setsigdefault: { parameters: ["buffer", "buffer"], result: "i32" },
  posix_spawn_file_actions_init: { parameters: ["buffer"], result: "i32" },
  posix_spawn_file_actions_destroy: { parameters: ["buffer"], result: "i32" },
  posix_spawn_file_actions_adddup2: { parameters: ["buffer", "i32", "i32"], result: "i32" },
  posix_spawn_file_actions_addchdir_np: { parameters: ["buffer", "buffer"], result: "i32" },
  sigemptyset: { parameters: ["buffer"], result: "i32" },
  sigaddset: { parameters: ["buffer", "i32"], result: "i32" },
  pipe: { parameters: ["buffer"], result: "i32" },
  pipe2: { parameters: ["buffer", "i32"], result: "i32", optional: true },
  // open(2) is variadic; called with its two fixed arguments only, which every ABI passes alike.
  open: { parameters: ["buffer", "i32"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
  waitpid: { parameters: ["i32", "buffer", "i32"], result: "i32" },
  strerror: { parameters: ["i32"], result: "pointer" },
  // Where `environ` lives; read at each spawn, since setenv() may move the array.
  dlsym: { parameters: ["pointer", "buffer"], result: "pointer", optional: true },
  _NSGetEnviron: { parameters: [], result: "pointer", optional: true },
} as const;

/** The opened C library and what differs between the OSes. */
export interface Libc {
  /** The bound functions. */
  readonly fn: Deno.DynamicLibrary<typeof _SYMBOLS>["symbols"];
  /** `POSIX_SPAWN_*` flags: the child leads a new session, signals default, mask empty. */
  readonly spawnFlags: number;
  /** `O_CLOEXEC` of this OS. */
  readonly oCloexec: number;
  /** Bytes for a `posix_spawnattr_t` / `posix_spawn_file_actions_t` / `sigset_t`. */
  readonly attrBytes: number;
  readonly actionsBytes: number;
  readonly sigsetBytes: number;
  /** Signal number to name, for reporting how a child died. */
  readonly signalNames: readonly string[];
  /** The current `environ` (the `char **` to pass as `envp` to inherit the server's). */
  environ(): Deno.PointerValue;
}

// Flag values: glibc <spawn.h> (SETSID since glibc 2.26) and Darwin <spawn.h>.
const _SETSIGDEF = 0x04;
const _SETSIGMASK = 0x08;
const _LINUX_SETSID = 0x80;
const _DARWIN_SETSID = 0x400;
// Darwin: the child gets only the descriptors the file actions name, whatever their flags.
const _DARWIN_CLOEXEC_DEFAULT = 0x4000;

// glibc's opaque structs (336 and 80 bytes on 64-bit, sigset_t 128), rounded up; on Darwin the
// first two are pointers and sigset_t 4 bytes, so the same buffers hold them too.
const _ATTR_BYTES = 512;
const _ACTIONS_BYTES = 256;
const _SIGSET_BYTES = 256;

const _LINUX_SIGNALS = [
  "",
  ...("SIGHUP SIGINT SIGQUIT SIGILL SIGTRAP SIGABRT SIGBUS SIGFPE SIGKILL SIGUSR1 SIGSEGV SIGUSR2 " +
    "SIGPIPE SIGALRM SIGTERM SIGSTKFLT SIGCHLD SIGCONT SIGSTOP SIGTSTP SIGTTIN SIGTTOU SIGURG SIGXCPU " +
    "SIGXFSZ SIGVTALRM SIGPROF SIGWINCH SIGIO SIGPWR SIGSYS").split(" "),
];
const _DARWIN_SIGNALS = [
  "",
  ...("SIGHUP SIGINT SIGQUIT SIGILL SIGTRAP SIGABRT SIGEMT SIGFPE SIGKILL SIGBUS SIGSEGV SIGSYS " +
    "SIGPIPE SIGALRM SIGTERM SIGURG SIGSTOP SIGTSTP SIGCONT SIGCHLD SIGTTIN SIGTTOU SIGIO SIGXCPU " +
    "SIGXFSZ SIGVTALRM SIGPROF SIGWINCH SIGINFO SIGUSR1 SIGUSR2").split(" "),
];

/**
 * Opens the C library, or throws why not (no `--allow-ffi`, an OS or libc not known here, a
 * missing symbol).
 *
 * @example
 * ```ts
 * import { openLibc } from "./libc.ts";
 * const libc = openLibc();
 * console.log(libc.spawnFlags !== 0);
 * ```
 */
export function openLibc(): Libc {
  const os = Deno.build.os;
  if (os !== "linux" && os !== "darwin") throw new Error(`no posix_spawn route for ${os}`);
  const lib = Deno.dlopen(os === "darwin" ? "libSystem.B.dylib" : "libc.so.6", _SYMBOLS);
  const fn = lib.symbols;
  if (os === "linux" && (fn.pipe2 === null || fn.dlsym === null)) {
    throw new Error("libc lacks pipe2 or dlsym");
  }
  if (os === "darwin" && fn._NSGetEnviron === null) throw new Error("libSystem lacks _NSGetEnviron");
  let environAt: Deno.PointerValue = null;
  if (os === "linux") {
    environAt = fn.dlsym!(null, new TextEncoder().encode("environ\0"));
    if (environAt === null) throw new Error("libc has no environ");
  }
  return {
    fn,
    spawnFlags: _SETSIGDEF | _SETSIGMASK |
      (os === "darwin" ? _DARWIN_SETSID | _DARWIN_CLOEXEC_DEFAULT : _LINUX_SETSID),
    oCloexec: os === "darwin" ? 0x01000000 : 0o2000000,
    attrBytes: _ATTR_BYTES,
    actionsBytes: _ACTIONS_BYTES,
    sigsetBytes: _SIGSET_BYTES,
    signalNames: os === "darwin" ? _DARWIN_SIGNALS : _LINUX_SIGNALS,
    environ: () => {
      const at = os === "darwin" ? fn._NSGetEnviron!() : environAt;
      return new Deno.UnsafePointerView(at!).getPointer(0);
    },
  };
}

/** `strerror(errno)` in lower case, as Go words OS errors (`no such file or directory`). */
export function errnoText(libc: Libc, errno: number): string {
  const text = libc.fn.strerror(errno);
  return text === null ? `errno ${errno}` : Deno.UnsafePointerView.getCString(text).toLowerCase();
}
