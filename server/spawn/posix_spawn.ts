/**
 * The one-exec route: `posix_spawn(3)` through Deno's FFI with `POSIX_SPAWN_SETSID`, so the
 * program leads its own session and process group from its first instruction (SPEC §7.2),
 * without a second exec (`setsid(1)`) or a fork of the whole server (`detached: true`).
 * glibc's posix_spawn is a vfork-style clone: no page tables are copied, and exec errors come
 * back as its return value.
 *
 * @module
 */
import type { Cmd } from "../../wire/cmd.ts";
import { type Child, envRecord, executable, exists } from "./child.ts";
import { readableFromFd, writableFromFd } from "./fd_streams.ts";
import { errnoText, type Libc } from "./libc.ts";
import { Reaper } from "./reaper.ts";

const _encoder = new TextEncoder();
const _O_RDONLY = 0;
const _O_WRONLY = 1;
// The same number on Linux and Darwin.
const _SIGPIPE = 13;
// Keeps a spawn's C strings alive during the call (a local the optimiser could drop would not).
let _pinned: unknown = null;

/** The route, bound to an opened C library. */
export class PosixSpawn {
  readonly #libc: Libc;
  readonly #reaper: Reaper;
  readonly #attr: Uint8Array;

  /**
   * Prepares the spawn attributes once; throws if this libc refuses the flags (glibc before
   * 2.26 has no `POSIX_SPAWN_SETSID`).
   */
  constructor(libc: Libc) {
    this.#libc = libc;
    this.#reaper = new Reaper(libc);
    const fn = libc.fn;
    this.#attr = new Uint8Array(libc.attrBytes);
    _check(fn.posix_spawnattr_init(this.#attr), "posix_spawnattr_init");
    _check(fn.posix_spawnattr_setflags(this.#attr, libc.spawnFlags), "posix_spawnattr_setflags");
    // The server's runtime ignores SIGPIPE: the child gets it back at its default action, with no
    // signal blocked, as Deno.Command (Rust's std) starts a child. (Caught signals are reset by
    // exec anyway; defaulting all 64 would cost the child 64 sigaction calls while the server
    // waits for its exec.)
    const none = new Uint8Array(libc.sigsetBytes);
    const pipe = new Uint8Array(libc.sigsetBytes);
    fn.sigemptyset(none);
    fn.sigemptyset(pipe);
    _check(fn.sigaddset(pipe, _SIGPIPE), "sigaddset");
    _check(fn.posix_spawnattr_setsigmask(this.#attr, none), "posix_spawnattr_setsigmask");
    _check(fn.posix_spawnattr_setsigdefault(this.#attr, pipe), "posix_spawnattr_setsigdefault");
  }

  /**
   * Starts `cmd`; throws `Error("<reason> (os error <n>)")` as a failed `Deno.Command` would,
   * or `Error("No such cwd …")` for a missing working directory, so both routes report alike.
   *
   * @example
   * ```ts
   * import { openLibc } from "./libc.ts";
   * import { PosixSpawn } from "./posix_spawn.ts";
   * const child = new PosixSpawn(openLibc()).spawn({ Path: "/bin/true", Args: [], Env: null, Dir: "", Scrub: false });
   * await child.stdin.close();
   * console.log((await child.status).code); // 0
   * ```
   */
  spawn(cmd: Cmd): Child {
    const fn = this.#libc.fn;
    const exe = executable(cmd);
    const actions = new Uint8Array(this.#libc.actionsBytes);
    _check(fn.posix_spawn_file_actions_init(actions), "posix_spawn_file_actions_init");
    const pipes: [number, number][] = [];
    try {
      for (let i = 0; i < 3; i++) pipes.push(this.#pipe());
      // Child ends onto 0, 1, 2; every pipe descriptor is close-on-exec (or, on Darwin, closed
      // by POSIX_SPAWN_CLOEXEC_DEFAULT), so the child holds only its three.
      _check(fn.posix_spawn_file_actions_adddup2(actions, pipes[0][0], 0), "adddup2");
      _check(fn.posix_spawn_file_actions_adddup2(actions, pipes[1][1], 1), "adddup2");
      _check(fn.posix_spawn_file_actions_adddup2(actions, pipes[2][1], 2), "adddup2");
      if (cmd.Dir !== "") {
        _check(fn.posix_spawn_file_actions_addchdir_np(actions, _cString(cmd.Dir)), "addchdir_np");
      }
      const path = _cString(exe);
      const argv = _cStrings([exe, ...cmd.Args]);
      const env = cmd.Env === null
        ? null
        : _cStrings(Object.entries(envRecord(cmd.Env)).map(([k, v]) => `${k}=${v}`));
      const envp = env === null ? this.#libc.environ() : Deno.UnsafePointer.of(env.array);
      const pid = new Int32Array(1);
      this.#reaper.prepare();
      // The C strings are reachable only through raw pointers: pinned until the call returned.
      _pinned = [path, argv, env];
      const err = fn.posix_spawn(new Uint8Array(pid.buffer), path, actions, this.#attr, argv.array, envp);
      _pinned = null;
      if (err !== 0) {
        this.#reaper.unprepare();
        // glibc reports a failed chdir as chdir's errno; say which it was, as Deno does.
        if (cmd.Dir !== "" && !exists(cmd.Dir)) throw new Error(`No such cwd '${cmd.Dir}'`);
        throw new Error(`${errnoText(this.#libc, err)} (os error ${err})`);
      }
      for (const [i, end] of [[0, 0], [1, 1], [2, 1]]) {
        fn.close(pipes[i][end]);
        pipes[i][end] = -1;
      }
      const child: Child = {
        pid: pid[0],
        stdin: writableFromFd(pipes[0][1]),
        stdout: readableFromFd(pipes[1][0]),
        stderr: readableFromFd(pipes[2][0]),
        status: this.#reaper.wait(pid[0]),
        started: Promise.resolve(),
      };
      pipes.length = 0;
      return child;
    } finally {
      for (const pipe of pipes) for (const fd of pipe) if (fd >= 0) fn.close(fd);
      fn.posix_spawn_file_actions_destroy(actions);
    }
  }

  // A pipe [read, write], both ends close-on-exec.
  #pipe(): [number, number] {
    const fn = this.#libc.fn;
    const fds = new Int32Array(2);
    const bytes = new Uint8Array(fds.buffer);
    if (fn.pipe2 !== null) {
      if (fn.pipe2(bytes, this.#libc.oCloexec) !== 0) throw new Error("pipe2 failed (os error 24)");
      return [fds[0], fds[1]];
    }
    // Darwin has no pipe2: reopen each end through /dev/fd with O_CLOEXEC (a dup there), so a
    // child spawned by other means meanwhile cannot inherit it.
    if (fn.pipe(bytes) !== 0) throw new Error("pipe failed (os error 24)");
    const ends: [number, number] = [-1, -1];
    for (const [i, mode] of [[0, _O_RDONLY], [1, _O_WRONLY]]) {
      ends[i] = fn.open(_cString(`/dev/fd/${fds[i]}`), mode | this.#libc.oCloexec);
      fn.close(fds[i]);
    }
    if (ends[0] < 0 || ends[1] < 0) {
      for (const fd of ends) if (fd >= 0) fn.close(fd);
      throw new Error("pipe failed (os error 24)");
    }
    return ends;
  }
}

function _check(result: number, what: string): void {
  if (result !== 0) throw new Error(`${what} failed (error ${result})`);
}

function _cString(text: string): Uint8Array<ArrayBuffer> {
  return _encoder.encode(`${text}\0`);
}

// A NULL-terminated array of C string pointers; `keep` holds the strings alive.
function _cStrings(texts: string[]): { array: Uint8Array<ArrayBuffer>; keep: Uint8Array[] } {
  const keep = texts.map(_cString);
  const pointers = new BigUint64Array(texts.length + 1);
  keep.forEach((s, i) => pointers[i] = BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(s))));
  return { array: new Uint8Array(pointers.buffer), keep };
}
