// Offline checks for the Teams app package: `npm ci && node --test` in appPackage/check (see run.sh).
"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const zlib = require("node:zlib");
const { execFileSync } = require("node:child_process");
const { AppManifestUtils } = require("@microsoft/app-manifest");

const PKG = path.resolve(__dirname, "..");
const ROOT = path.resolve(PKG, "..");
const PLACEHOLDER = "00000000-0000-0000-0000-000000000000";
const APP_ID = "3f2a9c1e-7b4d-4e8a-9c2f-1a2b3c4d5e6f";
const COMMANDS = ["help", "connect", "alert", "oncall", "alerts", "accept", "resolve",
  "subscribe", "unsubscribe", "subscriptions", "whoami"];

const manifestText = () => fs.readFileSync(path.join(PKG, "manifest.json"), "utf8");
const withId = (text, id) => JSON.parse(text.replaceAll(PLACEHOLDER, id));

// --- minimal PNG decoder (8-bit, non-interlaced, grey/RGB/grey+alpha/RGBA) -> {width, height, rgba}
function decodePng(buf) {
  assert.deepEqual([...buf.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], "PNG signature");
  let off = 8, ihdr, idat = [];
  while (off < buf.length) {
    const len = buf.readUInt32BE(off), type = buf.toString("latin1", off + 4, off + 8);
    const data = buf.subarray(off + 8, off + 8 + len);
    if (type === "IHDR") ihdr = data; else if (type === "IDAT") idat.push(data); else if (type === "IEND") break;
    off += 12 + len;
  }
  assert.ok(ihdr, "IHDR chunk");
  const width = ihdr.readUInt32BE(0), height = ihdr.readUInt32BE(4);
  const [depth, colorType, , , interlace] = ihdr.subarray(8, 13);
  const channels = { 0: 1, 2: 3, 4: 2, 6: 4 }[colorType];
  assert.ok(depth === 8 && channels && interlace === 0, `unsupported PNG: depth ${depth}, colour type ${colorType}`);
  const raw = zlib.inflateSync(Buffer.concat(idat)), stride = width * channels;
  const px = Buffer.alloc(height * stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)], line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    for (let i = 0; i < stride; i++) {
      const a = i >= channels ? px[y * stride + i - channels] : 0, b = y ? px[(y - 1) * stride + i] : 0;
      const c = y && i >= channels ? px[(y - 1) * stride + i - channels] : 0;
      const p = a + b - c, pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
      const pred = [0, a, b, (a + b) >> 1, pa <= pb && pa <= pc ? a : pb <= pc ? b : c][filter];
      assert.notEqual(pred, undefined, `PNG filter ${filter}`);
      px[y * stride + i] = (line[i] + pred) & 0xff;
    }
  }
  const rgba = Buffer.alloc(width * height * 4);
  for (let p = 0; p < width * height; p++) {
    const s = px.subarray(p * channels, (p + 1) * channels);
    const [r, g, b] = channels >= 3 ? s : [s[0], s[0], s[0]];
    rgba.set([r, g, b, channels === 4 ? s[3] : channels === 2 ? s[1] : 255], p * 4);
  }
  return { width, height, rgba };
}

// --- minimal zip reader (central directory; stored or deflated entries) -> Map(name -> Buffer)
function readZip(buf) {
  const eocd = buf.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  assert.ok(eocd >= 0, "zip end of central directory");
  const entries = new Map();
  let off = buf.readUInt32LE(eocd + 16);
  for (let n = buf.readUInt16LE(eocd + 10); n > 0; n--) {
    assert.equal(buf.readUInt32LE(off), 0x02014b50, "central directory entry");
    const method = buf.readUInt16LE(off + 10), size = buf.readUInt32LE(off + 20);
    const nameLen = buf.readUInt16LE(off + 28), extraLen = buf.readUInt16LE(off + 30);
    const commentLen = buf.readUInt16LE(off + 32), local = buf.readUInt32LE(off + 42);
    const name = buf.toString("utf8", off + 46, off + 46 + nameLen);
    const start = local + 30 + buf.readUInt16LE(local + 26) + buf.readUInt16LE(local + 28);
    const data = buf.subarray(start, start + size);
    assert.ok(method === 0 || method === 8, `zip method ${method} for ${name}`);
    entries.set(name, method === 8 ? zlib.inflateRawSync(data) : Buffer.from(data));
    off += 46 + nameLen + extraLen + commentLen;
  }
  return entries;
}

test("manifest validates against the bundled Teams schema (offline) with zero errors", async (t) => {
  const manifest = withId(manifestText(), APP_ID);
  const m = /\/json-schemas\/teams\/v([\d.]+)\/MicrosoftTeams\.schema\.json$/.exec(manifest.$schema);
  assert.ok(m, `unexpected $schema ${manifest.$schema}`);
  assert.equal(manifest.manifestVersion, m[1], "manifestVersion matches $schema");
  assert.ok(Number(m[1].split(".")[1]) >= 24, "manifest version >= 1.24");
  const bundled = path.join(path.dirname(require.resolve("@microsoft/app-manifest")),
    "json-schemas", "teams", `v${m[1]}`, "MicrosoftTeams.schema.json");
  assert.ok(fs.existsSync(bundled), `@microsoft/app-manifest bundles no schema for v${m[1]}`);
  // Any network access would mean the schema is not the bundled copy: fail instead of fetching.
  t.mock.method(globalThis, "fetch", async (url) => { throw new Error(`network access attempted: ${url}`); });
  const errors = await AppManifestUtils.validateAgainstSchema(manifest);
  assert.deepEqual(errors, [], "schema errors");
});

test("the placeholder id is used for the app, the bot and webApplicationInfo", () => {
  const manifest = JSON.parse(manifestText());
  assert.equal(manifest.id, PLACEHOLDER);
  assert.equal(manifest.bots.length, 1);
  assert.equal(manifest.bots[0].botId, PLACEHOLDER);
  assert.deepEqual(manifest.webApplicationInfo, { id: PLACEHOLDER, resource: `api://botid-${PLACEHOLDER}` });
});

test("bot commands are exactly the 11 ilert commands, for team, personal and groupChat", () => {
  const bot = JSON.parse(manifestText()).bots[0];
  assert.deepEqual([...bot.scopes].sort(), ["groupChat", "personal", "team"]);
  assert.ok(bot.commandLists.length >= 1);
  for (const list of bot.commandLists) {
    assert.deepEqual(list.commands.map((c) => c.title), COMMANDS, `commands for ${list.scopes}`);
    for (const c of list.commands) {
      assert.ok(c.title.length <= 32, `title ${c.title} <= 32 chars`);
      assert.ok(c.description && c.description.length <= 128, `description of ${c.title} is 1..128 chars`);
    }
  }
  const covered = bot.commandLists.flatMap((l) => l.scopes);
  assert.deepEqual([...new Set(covered)].sort(), ["groupChat", "personal", "team"], "every scope has the commands");
});

test("icons: color.png 192x192 in the accent colour, outline.png 32x32 white on transparent", () => {
  const manifest = JSON.parse(manifestText());
  const color = decodePng(fs.readFileSync(path.join(PKG, manifest.icons.color)));
  assert.deepEqual([color.width, color.height], [192, 192]);
  const accent = manifest.accentColor.match(/[0-9a-f]{2}/gi).map((h) => parseInt(h, 16));
  assert.deepEqual([...color.rgba.subarray(0, 4)], [...accent, 255], "color.png background = accentColor");

  const outline = decodePng(fs.readFileSync(path.join(PKG, manifest.icons.outline)));
  assert.deepEqual([outline.width, outline.height], [32, 32]);
  let white = 0;
  for (let p = 0; p < 32 * 32; p++) {
    const [r, g, b, a] = outline.rgba.subarray(p * 4, p * 4 + 4);
    const ok = a === 0 || (r === 255 && g === 255 && b === 255);
    assert.ok(ok, `outline.png pixel (${p % 32},${Math.floor(p / 32)}) is rgba(${r},${g},${b},${a})`);
    if (a === 255) white++;
  }
  assert.ok(white > 100 && white < 32 * 32 - 100, `outline.png has a glyph (${white} opaque white pixels)`);
});

test("make-icons.py reproduces the committed icons pixel for pixel", () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), "teams-icons-"));
  try {
    execFileSync("python3", [path.join(PKG, "make-icons.py"), "--out", out], { stdio: "pipe" });
    for (const name of ["color.png", "outline.png"]) {
      const fresh = decodePng(fs.readFileSync(path.join(out, name)));
      const committed = decodePng(fs.readFileSync(path.join(PKG, name)));
      assert.ok(fresh.rgba.equals(committed.rgba), `${name} is stale: run python3 appPackage/make-icons.py`);
    }
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
});

test("scripts/package-teams-app builds a flat zip with the id filled in", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "teams-app-"));
  const script = path.join(ROOT, "scripts", "package-teams-app");
  try {
    const zipPath = path.join(dir, "app.zip");
    execFileSync(script, [APP_ID, zipPath], { stdio: "pipe" });
    const entries = readZip(fs.readFileSync(zipPath));
    assert.deepEqual([...entries.keys()].sort(), ["color.png", "manifest.json", "outline.png"]);
    const text = entries.get("manifest.json").toString("utf8");
    assert.ok(!text.includes(PLACEHOLDER), "placeholder left in packaged manifest");
    assert.deepEqual(JSON.parse(text), withId(manifestText(), APP_ID));
    for (const icon of ["color.png", "outline.png"]) {
      assert.ok(entries.get(icon).equals(fs.readFileSync(path.join(PKG, icon))), `${icon} copied unchanged`);
    }
    for (const bad of ["not-a-guid", PLACEHOLDER]) {
      assert.throws(() => execFileSync(script, [bad, path.join(dir, "bad.zip")], { stdio: "pipe" }),
        (e) => e.status === 2, `rejects ${bad}`);
    }
    assert.ok(!fs.existsSync(path.join(dir, "bad.zip")));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
