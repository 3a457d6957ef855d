/**
 * Maps the Docker engine's inspect result onto the container peek shape of SPEC §7.6, which
 * keeps the field set and order of the original circuit. Fields today's engines no longer have
 * print as zero values.
 *
 * @module
 */

/** A port binding as peek prints it. */
export interface PortBinding {
  /** Host address; empty for all. */
  HostIp: string;
  /** Host port; empty for a random one. */
  HostPort: string;
}

/** The container state as `peek` and `wait` print it (SPEC §7.6), keys in the spec's order. */
export interface DockerStat {
  /** The engine's container ID. */
  ID: string;
  /** Creation time as the engine reports it. */
  Created: string;
  /** The program the container runs. */
  Path: string;
  /** Its arguments. */
  Args: string[] | null;
  /** The container's configuration; the limits come from the engine's host config. */
  Config: {
    Hostname: string;
    Domainname: string;
    User: string;
    Memory: number;
    MemorySwap: number;
    CpuShares: number;
    Cpuset: string;
    AttachStdin: boolean;
    AttachStdout: boolean;
    AttachStderr: boolean;
    PortSpecs: string[] | null;
    ExposedPorts: Record<string, Record<string, never>> | null;
    Tty: boolean;
    OpenStdin: boolean;
    StdinOnce: boolean;
    Env: string[] | null;
    Cmd: string[] | null;
    Image: string;
    Volumes: Record<string, Record<string, never>> | null;
    WorkingDir: string;
    Entrypoint: string[] | null;
    NetworkDisabled: boolean;
    OnBuild: string[] | null;
  };
  /** Run state; `Ghost` always false. */
  State: {
    Running: boolean;
    Paused: boolean;
    Pid: number;
    ExitCode: number;
    StartedAt: string;
    FinishedAt: string;
    Ghost: boolean;
  };
  /** Image ID. */
  Image: string;
  /** Network state; `PortMapping` always null. */
  NetworkSettings: {
    IPAddress: string;
    IPPrefixLen: number;
    Gateway: string;
    Bridge: string;
    PortMapping: null;
    Ports: Record<string, PortBinding[] | null> | null;
  };
  /** Engine-side path of the container's resolv.conf. */
  ResolvConfPath: string;
  /** Engine-side path of the container's hostname file. */
  HostnamePath: string;
  /** Engine-side path of the container's hosts file. */
  HostsPath: string;
  /** `/via-circuit-<16 hex>`. */
  Name: string;
  /** Storage driver. */
  Driver: string;
  /** Always empty (engines no longer have it). */
  ExecDriver: string;
  /** Mount destination → host source. */
  Volumes: Record<string, string>;
  /** Mount destination → writable. */
  VolumesRW: Record<string, boolean>;
  /** Host-side settings; `LxcConf` always null. */
  HostConfig: {
    Binds: string[] | null;
    ContainerIDFile: string;
    LxcConf: null;
    Privileged: boolean;
    PortBindings: Record<string, PortBinding[] | null> | null;
    Links: string[] | null;
    PublishAllPorts: boolean;
    Dns: string[] | null;
    DnsSearch: string[] | null;
    VolumesFrom: string[] | null;
    NetworkMode: string;
  };
}

type _Obj = Record<string, unknown>;

/**
 * Builds the peek shape from an inspect result (`GET /containers/{id}/json`).
 *
 * @example
 * ```ts
 * import { toDockerStat } from "./inspect.ts";
 * const stat = toDockerStat({ Id: "abc", Name: "/via-circuit-0123456789abcdef", State: { Running: true } });
 * console.log(stat.ID, stat.State.Running, stat.State.Ghost); // "abc" true false
 * ```
 */
export function toDockerStat(inspect: Record<string, unknown>): DockerStat {
  const config = _obj(inspect.Config);
  const host = _obj(inspect.HostConfig);
  const state = _obj(inspect.State);
  const net = _obj(inspect.NetworkSettings);
  const volumes: Record<string, string> = {};
  const volumesRW: Record<string, boolean> = {};
  const mounts = Array.isArray(inspect.Mounts) ? (inspect.Mounts as unknown[]).map(_obj) : [];
  mounts.sort((a, b) => _cmp(_str(a.Destination), _str(b.Destination)));
  for (const m of mounts) {
    volumes[_str(m.Destination)] = _str(m.Source);
    volumesRW[_str(m.Destination)] = _bool(m.RW);
  }
  return {
    ID: _str(inspect.Id),
    Created: _str(inspect.Created),
    Path: _str(inspect.Path),
    Args: _list(inspect.Args),
    Config: {
      Hostname: _str(config.Hostname),
      Domainname: _str(config.Domainname),
      User: _str(config.User),
      Memory: _num(host.Memory),
      MemorySwap: _num(host.MemorySwap),
      CpuShares: _num(host.CpuShares),
      Cpuset: _str(host.CpusetCpus),
      AttachStdin: _bool(config.AttachStdin),
      AttachStdout: _bool(config.AttachStdout),
      AttachStderr: _bool(config.AttachStderr),
      PortSpecs: null,
      ExposedPorts: _set(config.ExposedPorts),
      Tty: _bool(config.Tty),
      OpenStdin: _bool(config.OpenStdin),
      StdinOnce: _bool(config.StdinOnce),
      Env: _list(config.Env),
      Cmd: _list(config.Cmd),
      Image: _str(config.Image),
      Volumes: _set(config.Volumes),
      WorkingDir: _str(config.WorkingDir),
      Entrypoint: _list(config.Entrypoint),
      NetworkDisabled: _bool(config.NetworkDisabled),
      OnBuild: _list(config.OnBuild),
    },
    State: {
      Running: _bool(state.Running),
      Paused: _bool(state.Paused),
      Pid: _num(state.Pid),
      ExitCode: _num(state.ExitCode),
      StartedAt: _str(state.StartedAt),
      FinishedAt: _str(state.FinishedAt),
      Ghost: false,
    },
    Image: _str(inspect.Image),
    NetworkSettings: {
      IPAddress: _str(net.IPAddress),
      IPPrefixLen: _num(net.IPPrefixLen),
      Gateway: _str(net.Gateway),
      Bridge: _str(net.Bridge),
      PortMapping: null,
      Ports: _ports(net.Ports),
    },
    ResolvConfPath: _str(inspect.ResolvConfPath),
    HostnamePath: _str(inspect.HostnamePath),
    HostsPath: _str(inspect.HostsPath),
    Name: _str(inspect.Name),
    Driver: _str(inspect.Driver),
    ExecDriver: "",
    Volumes: volumes,
    VolumesRW: volumesRW,
    HostConfig: {
      Binds: _list(host.Binds),
      ContainerIDFile: _str(host.ContainerIDFile),
      LxcConf: null,
      Privileged: _bool(host.Privileged),
      PortBindings: _ports(host.PortBindings),
      Links: _list(host.Links),
      PublishAllPorts: _bool(host.PublishAllPorts),
      Dns: _list(host.Dns),
      DnsSearch: _list(host.DnsSearch),
      VolumesFrom: _list(host.VolumesFrom),
      NetworkMode: _str(host.NetworkMode),
    },
  };
}

function _obj(v: unknown): _Obj {
  return typeof v === "object" && v !== null && !Array.isArray(v) ? v as _Obj : {};
}

function _str(v: unknown): string {
  return typeof v === "string" ? v : "";
}

function _num(v: unknown): number {
  return typeof v === "number" ? v : 0;
}

function _bool(v: unknown): boolean {
  return v === true;
}

function _list(v: unknown): string[] | null {
  return Array.isArray(v) ? v.map((s) => String(s)) : null;
}

function _cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** A set-like map (`{"80/tcp": {}}`) with sorted keys; null stays null. */
function _set(v: unknown): Record<string, Record<string, never>> | null {
  if (typeof v !== "object" || v === null) return null;
  const out: Record<string, Record<string, never>> = {};
  for (const k of Object.keys(v).sort(_cmp)) out[k] = {};
  return out;
}

/** A port map with sorted keys, each binding reduced to `HostIp` and `HostPort`. */
function _ports(v: unknown): Record<string, PortBinding[] | null> | null {
  if (typeof v !== "object" || v === null) return null;
  const out: Record<string, PortBinding[] | null> = {};
  for (const k of Object.keys(v).sort(_cmp)) {
    const list = (v as _Obj)[k];
    out[k] = Array.isArray(list)
      ? list.map((b) => ({ HostIp: _str(_obj(b).HostIp), HostPort: _str(_obj(b).HostPort) }))
      : null;
  }
  return out;
}
