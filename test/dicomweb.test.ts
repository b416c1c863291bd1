// DICOMweb against a real Orthanc with its DICOMweb plugin (Debian orthanc, orthanc-dicomweb),
// started here on free local ports with a temporary storage folder and loaded with the fixture
// series over its REST API; and against small local servers that refuse, stall or cut off.
// Without Orthanc the Orthanc tests are skipped with a message; SIMDCNN_REQUIRE_ORTHANC=1
// (.ci/run) makes that a failure.
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { type Server, createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import dicomParser from "dicom-parser";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DicomwebError } from "../src/errors.js";
import { multipartParts, retrieveSeries, searchSeries, storeInstance } from "../src/io/dicomweb.js";
import { readSeries } from "../src/io/series.js";
import { COMMAND, simdcnn } from "./cli-run.js";
import { SERIES } from "./fixtures/volumes/geometry.js";
import { REDIS, REDIS_REQUIRED, Redis, freePort, redisPresent } from "./servers.js";

const ORTHANC = "/usr/sbin/Orthanc";
const PLUGIN = "/usr/share/orthanc/plugins/libOrthancDicomWeb.so";
const REQUIRE = process.env.SIMDCNN_REQUIRE_ORTHANC === "1";
const STUDY = "1.2.826.0.1.3680043.10.1177";
const FIX = new URL("./fixtures/volumes/", import.meta.url).pathname;
const MODEL = new URL("../examples/phantom/phantom.onnx", import.meta.url).pathname;
const SEG_MODEL = new URL("../examples/phantom-seg/phantom-seg.onnx", import.meta.url).pathname;

const folder = (name: string) => readdirSync(join(FIX, name)).sort().map((f) => ({ name: f, bytes: new Uint8Array(readFileSync(join(FIX, name, f))) }));

const present = existsSync(ORTHANC) && existsSync(PLUGIN);
const missing = `test/dicomweb.test.ts: ${REQUIRE ? "Orthanc is required (SIMDCNN_REQUIRE_ORTHANC=1) but" : "SKIPPED the Orthanc tests:"} ${ORTHANC} or ${PLUGIN} is missing (Debian: apt-get install orthanc orthanc-dicomweb)${REQUIRE ? "" : "; SIMDCNN_REQUIRE_ORTHANC=1 makes this a failure"}`;

describe.runIf(present)("a real Orthanc over DICOMweb", () => {
  let dir: string;
  let orthanc: ChildProcess;
  let base: string;
  let log = "";

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "simdcnn-orthanc-"));
    const [http, dicom] = [await freePort(), await freePort()];
    const config = {
      Name: "simdcnn-test", StorageDirectory: join(dir, "storage"), IndexDirectory: join(dir, "index"),
      HttpPort: http, DicomPort: dicom, RemoteAccessAllowed: false, AuthenticationEnabled: false,
      Plugins: [PLUGIN], DicomWeb: { Enable: true, Root: "/dicom-web/" },
    };
    writeFileSync(join(dir, "config.json"), JSON.stringify(config));
    orthanc = spawn(ORTHANC, [join(dir, "config.json")], { stdio: ["ignore", "pipe", "pipe"] });
    orthanc.stdout!.on("data", (d) => (log += d));
    orthanc.stderr!.on("data", (d) => (log += d));
    const root = `http://127.0.0.1:${http}`;
    const deadline = Date.now() + 60_000;
    for (;;) {
      const ok = await fetch(`${root}/system`).then((r) => r.ok, () => false);
      if (ok) break;
      if (orthanc.exitCode !== null || Date.now() > deadline) throw new Error(`Orthanc did not start on port ${http}:\n${log.slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    for (const name of ["axial", "mixed"]) {
      for (const f of folder(name)) {
        const r = await fetch(`${root}/instances`, { method: "POST", body: f.bytes, headers: { "Content-Type": "application/dicom" } });
        if (!r.ok) throw new Error(`Orthanc refused ${name}/${f.name}: ${r.status} ${await r.text()}`);
      }
    }
    base = `${root}/dicom-web`;
  });

  afterAll(async () => {
    if (orthanc && orthanc.exitCode === null) {
      const exited = new Promise((r) => orthanc.once("exit", r));
      process.kill(orthanc.pid!, "SIGTERM");
      await exited;
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("lists the study's series (QIDO-RS) and retrieves a series (WADO-RS) byte for byte", async () => {
    const uids = (await searchSeries(base, STUDY, { timeoutMs: 30_000 })).map((x) => x.uid);
    expect([...uids].sort()).toEqual([SERIES[0].uid, SERIES[3].uid, SERIES[4].uid].sort());
    const files = await retrieveSeries(base, STUDY, SERIES[0].uid, { timeoutMs: 30_000 });
    const local = folder("axial");
    // Orthanc stores what it was sent; the instances come back in its order, so compare as sets.
    const hex = (b: Uint8Array) => Buffer.from(b).toString("base64");
    expect(files.map(hex).sort()).toEqual(local.map((f) => hex(f.bytes)).sort());
    const [fetched] = await readSeries(files.map((bytes, i) => ({ name: `${i}`, bytes })));
    const [own] = await readSeries(local);
    expect("volume" in fetched && "volume" in own && fetched.volume.data).toEqual("volume" in own && own.volume.data);
  });

  it("classifies a study from the PACS as the same series read from disk, each series by its URL", async () => {
    const remote = await simdcnn(["classify", "--model", MODEL, "--json", "--threads", "1", "--dicomweb", base, "--study", STUDY]);
    expect(remote.code).toBe(0);
    const rows = JSON.parse(remote.stdout) as { file: string; series: string; slice: number; top: unknown }[];
    const local = JSON.parse((await simdcnn(["classify", "--model", MODEL, "--json", "--threads", "1", join(FIX, "axial"), join(FIX, "mixed")])).stdout) as typeof rows;
    const bySeries = (rs: typeof rows) => Object.fromEntries(SERIES.map((s) => [s.uid, rs.filter((r) => r.series === s.uid).map((r) => [r.slice, r.top])]));
    expect(bySeries(rows)).toEqual(bySeries(local));
    for (const r of rows) expect(r.file).toBe(`${base}/studies/${STUDY}/series/${r.series}`);
  });

  it.runIf(redisPresent || REDIS_REQUIRED)("puts each series of the study on a queue, fetched by the worker that takes it, with the lines of a local run", async () => {
    if (!redisPresent) throw new Error(`SIMDCNN_REQUIRE_REDIS=1 but there is no redis-server at ${REDIS}`);
    const args = ["classify", "--model", MODEL, "--json", "--axis", "coronal", "--dicomweb", base, "--study", STUDY];
    const local = await simdcnn([...args, "--threads", "1"]);
    expect(local.code, local.stderr).toBe(0);
    const redis = new Redis(await freePort(), join(dir, "redis"));
    await redis.start();
    const url = `redis://127.0.0.1:${redis.port}/0`;
    const workers = [0, 1].map(() => spawn(process.execPath, [COMMAND, "worker", "--queue", url], { stdio: "ignore" }));
    try {
      const queued = await simdcnn([...args, "--queue", url]);
      expect(queued.code, queued.stderr).toBe(0);
      expect(JSON.parse(queued.stdout)).toEqual(JSON.parse(local.stdout));
    } finally {
      await Promise.all(workers.map((w) => new Promise((r) => (w.once("exit", r), w.kill("SIGTERM")))));
      await redis.stop();
    }
  }, 60_000);

  it("reports a series the PACS does not know as a DicomwebError line and classifies the rest", async () => {
    const r = await simdcnn(["classify", "--model", MODEL, "--json", "--threads", "1", "--dicomweb", base, "--study", STUDY, "--series", "1.2.3.404", join(FIX, "gap")]);
    expect(r.code).toBe(1);
    const rows = JSON.parse(r.stdout) as { file: string; error?: string; slice?: number }[];
    expect(rows[0].file).toBe(join(FIX, "gap"));
    expect(rows.filter((x) => x.slice !== undefined)).toHaveLength(5);
    expect(rows.at(-1)).toEqual({ file: `${base}/studies/${STUDY}/series/1.2.3.404`, error: expect.stringMatching(/^DicomwebError: .*series\/1\.2\.3\.404 answered 404/) });
  });

  // These store into the study, so they come after the tests that list its series.
  it("stores a series' SEG and SR with STOW-RS (--store), and QIDO-RS then finds each in the study", async () => {
    const out = mkdtempSync(join(tmpdir(), "simdcnn-stow-"));
    try {
      const source = ["--threads", "1", "--json", "--dicomweb", base, "--study", STUDY, "--series", SERIES[0].uid, "--store"];
      const seg = await simdcnn(["segment", "--model", SEG_MODEL, "--out", join(out, "masks"), "--seg", join(out, "seg"), ...source]);
      expect(seg.code).toBe(0);
      const sr = await simdcnn(["classify", "--model", MODEL, "--sr", join(out, "sr"), ...source]);
      expect(sr.code).toBe(0);
      for (const [r, kind, modality] of [[seg, "seg", "SEG"], [sr, "sr", "SR"]] as const) {
        const rows = JSON.parse(r.stdout) as Record<string, string>[];
        const path = join(out, kind, `series-1.${kind}.dcm`);
        expect(rows.every((x) => x[kind] === path && typeof x.stored === "string")).toBe(true);
        const sop = dicomParser.parseDicom(new Uint8Array(readFileSync(path))).string("x00080018");
        const found = (await (await fetch(`${base}/studies/${STUDY}/instances?SOPInstanceUID=${sop}`, { headers: { Accept: "application/dicom+json" } })).json()) as Record<string, { Value: string[] }>[];
        expect(found.map((i) => [i["00080018"].Value[0], i["00080060"]?.Value[0] ?? modality])).toEqual([[sop, modality]]);
      }
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });

  it("gives each object a PACS refuses to store a DicomwebError line, and writes and stores the rest", async () => {
    // A gateway that reads from Orthanc and refuses every store.
    const gateway = createServer(async (req, res) => {
      if (req.method === "POST") {
        res.writeHead(403, { "Content-Type": "text/plain" }).end("read-only archive");
        return;
      }
      const r = await fetch(`${base.replace(/\/dicom-web$/, "")}${req.url}`, { headers: { Accept: req.headers.accept ?? "*/*" } });
      res.writeHead(r.status, { "Content-Type": r.headers.get("content-type") ?? "" }).end(Buffer.from(await r.arrayBuffer()));
    });
    await new Promise<void>((r) => gateway.listen(0, "127.0.0.1", r));
    const refusing = `http://127.0.0.1:${(gateway.address() as AddressInfo).port}/dicom-web`;
    const out = mkdtempSync(join(tmpdir(), "simdcnn-stow-"));
    try {
      const r = await simdcnn(["segment", "--model", SEG_MODEL, "--threads", "1", "--json", "--out", join(out, "masks"), "--seg", join(out, "seg"), "--dicomweb", refusing, "--study", STUDY, "--store"]);
      expect(r.code).toBe(1);
      const rows = JSON.parse(r.stdout) as { file: string; series?: string; error?: string; mask?: string; seg?: string; stored?: string }[];
      const failed = rows.filter((x) => x.error);
      // One line per series (the study has three), each naming the series by its URL.
      expect(failed.map((x) => x.series).sort()).toEqual([SERIES[0].uid, SERIES[3].uid, SERIES[4].uid].sort());
      for (const f of failed) {
        expect(f.file).toBe(`${refusing}/studies/${STUDY}/series/${f.series}`);
        expect(f.error).toMatch(/^DicomwebError: .*\/studies answered 403 Forbidden: read-only archive$/);
      }
      // Every slice still has its mask, and every series its SEG written whole; none is stored.
      // Axial slices: the two axial series' own, and the coronal series' rows (they run along S).
      expect(rows.filter((x) => x.mask).length).toBe(SERIES[0].slices + SERIES[3].slices + SERIES[4].rows);
      expect(rows.some((x) => x.stored)).toBe(false);
      expect(readdirSync(join(out, "seg")).sort()).toEqual(["series-1.seg.dcm", "series-2.seg.dcm", "series-3.seg.dcm"]);
    } finally {
      gateway.closeAllConnections();
      await new Promise((r) => gateway.close(r));
      rmSync(out, { recursive: true, force: true });
    }
  });
});

// A describe block that is skipped still runs its body to collect the tests, so the message is only given when Orthanc is missing.
if (!present) {
  describe("a real Orthanc over DICOMweb", () => {
    console.warn(missing);
    if (REQUIRE) it("is installed", () => { throw new Error(missing); });
    else it.skip(missing, () => undefined);
  });
}

describe("DICOMweb failures, against local servers", () => {
  let server: Server;
  let base: string;
  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.url!.includes("/stall")) return; // never answers
      if (req.url!.includes("/refuse")) {
        res.writeHead(500, { "Content-Type": "text/plain" }).end("database\nlocked");
        return;
      }
      if (req.url!.includes("/cut")) {
        res.writeHead(200, { "Content-Type": 'multipart/related; type="application/dicom"; boundary=xyz' }).end("--xyz\r\nContent-Type: application/dicom\r\n\r\nDICM...");
        return;
      }
      res.writeHead(200, { "Content-Type": "text/html" }).end("<html></html>");
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  it("gives a refusal, a stall, a cut-off answer and a wrong answer each a DicomwebError that says which", async () => {
    const url = `${base}/refuse/studies/1.2/series/3.4`;
    await expect(retrieveSeries(`${base}/refuse`, "1.2", "3.4", { timeoutMs: 5000 })).rejects.toThrow(new DicomwebError(`${url} answered 500 Internal Server Error: database locked`, url, 500));
    await expect(searchSeries(`${base}/stall`, "1.2", { timeoutMs: 300 })).rejects.toThrow(/stall\/studies\/1\.2\/series did not answer within 300 ms/);
    await expect(retrieveSeries(`${base}/cut`, "1.2", "3.4", { timeoutMs: 5000 })).rejects.toThrow(/is cut off or malformed multipart \(boundary 'xyz'\)/);
    await expect(retrieveSeries(`${base}/html`, "1.2", "3.4", { timeoutMs: 5000 })).rejects.toThrow(/is 'text\/html', not multipart\/related with a boundary/);
    await expect(searchSeries(`${base}/html`, "1.2", { timeoutMs: 5000 })).rejects.toThrow(/the QIDO-RS answer of .* is not JSON: <html>/);
  });

  it("stores with one multipart/related part of exactly the instance, and reads the server's verdict", async () => {
    const seen: { type: string; body: Buffer }[] = [];
    const stow = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        seen.push({ type: req.headers["content-type"] ?? "", body: Buffer.concat(chunks) });
        const answer = req.url!.includes("/fail")
          ? { "00081198": { vr: "SQ", Value: [{ "00081197": { vr: "US", Value: [272] } }] } }
          : { "00081199": { vr: "SQ", Value: [{ "00081190": { vr: "UR", Value: ["http://pacs/studies/1/series/2/instances/3"] } }] } };
        res.writeHead(200, { "Content-Type": "application/dicom+json" }).end(JSON.stringify(answer));
      });
    });
    await new Promise<void>((r) => stow.listen(0, "127.0.0.1", r));
    const root = `http://127.0.0.1:${(stow.address() as AddressInfo).port}`;
    try {
      // Bytes that contain CRLFs and dashes, as DICOM files can.
      const instance = Uint8Array.from([0x44, 0x49, 0x43, 0x4d, 0x0d, 0x0a, 0x2d, 0x2d, 0x0d, 0x0a, 0x00, 0xff]);
      expect(await storeInstance(`${root}/ok/`, instance, { timeoutMs: 5000 })).toBe("http://pacs/studies/1/series/2/instances/3");
      const boundary = /^multipart\/related; type="application\/dicom"; boundary=(\S+)$/.exec(seen[0].type)?.[1];
      expect(boundary).toBeDefined();
      expect(multipartParts(new Uint8Array(seen[0].body), boundary!)).toEqual([instance]);
      await expect(storeInstance(`${root}/fail`, instance, { timeoutMs: 5000 })).rejects.toThrow(new DicomwebError(`${root}/fail/studies refused the instance (failure reason 272)`, `${root}/fail/studies`, 200));
    } finally {
      stow.closeAllConnections();
      await new Promise((r) => stow.close(r));
    }
  });

  it("splits multipart bodies at the delimiter lines only, the CRLF before each delimiter not in the part", () => {
    const enc = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));
    const dec = (parts: Uint8Array[] | undefined) => parts?.map((p) => String.fromCharCode(...p));
    expect(dec(multipartParts(enc("--b\r\nA: 1\r\n\r\nfirst--b not a delimiter\r\n--b\r\n\r\n\r\nsecond\r\n--b--\r\n"), "b"))).toEqual(["first--b not a delimiter", "\r\nsecond"]);
    expect(multipartParts(enc("--b\r\nA: 1\r\n\r\nfirst\r\n--b\r\nA: 2\r\n\r\nsecond"), "b")).toBeUndefined();
    expect(dec(multipartParts(enc("preamble\r\n--b--\r\n"), "b"))).toEqual([]);
  });
});
