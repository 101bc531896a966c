// Compile contracts/TestUSDC.sol with the pinned solcjs and write
// contracts/build/TestUSDC.json. Run via `bash contracts/build.sh`.
//
//   node contracts/build.mjs            # (re)write the artifact
//   node contracts/build.mjs --check    # exit 1 if the committed artifact is stale
//
// Env: SOLC_MODULE = path of the solc npm package directory
//      (default: <repo>/.tools/npm/solc/node_modules/solc).
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync, existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const SOLC_VERSION = "0.8.37"; // keep in sync with tools/npm/solc/package.json
const CONTRACT = "TestUSDC";
const SOURCE_NAME = "contracts/TestUSDC.sol"; // repo-relative: keeps metadata hash location-independent
const SETTINGS = {
  optimizer: { enabled: true, runs: 200 },
  evmVersion: "cancun",
  metadata: { bytecodeHash: "ipfs" },
  outputSelection: {
    "*": { "*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object", "evm.methodIdentifiers"] },
  },
};

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const check = process.argv.includes("--check");
const solcDir = process.env.SOLC_MODULE || join(root, ".tools/npm/solc/node_modules/solc");
if (!existsSync(join(solcDir, "package.json"))) {
  console.error(`build: solc not found at ${solcDir}; run \`bash contracts/build.sh\` (it installs it)`);
  process.exit(2);
}
const solc = createRequire(join(solcDir, "package.json"))(solcDir);
const longVersion = solc.version();
if (!longVersion.startsWith(SOLC_VERSION + "+")) {
  console.error(`build: expected solc ${SOLC_VERSION}, found ${longVersion}`);
  process.exit(2);
}

const source = readFileSync(join(root, SOURCE_NAME), "utf8");
const input = { language: "Solidity", sources: { [SOURCE_NAME]: { content: source } }, settings: SETTINGS };
const output = JSON.parse(solc.compile(JSON.stringify(input)));

let failed = false;
for (const e of output.errors || []) {
  console.error(e.formattedMessage || e.message);
  if (e.severity === "error") failed = true;
}
if (failed) process.exit(1);

const c = output.contracts[SOURCE_NAME][CONTRACT];
const artifact = {
  contractName: CONTRACT,
  sourceName: SOURCE_NAME,
  sourceSha256: createHash("sha256").update(source).digest("hex"),
  compiler: {
    name: "solc (npm solcjs)",
    version: longVersion.replace(/\.Emscripten\.clang$/, ""),
    optimizer: SETTINGS.optimizer,
    evmVersion: SETTINGS.evmVersion,
  },
  abi: c.abi,
  bytecode: "0x" + c.evm.bytecode.object,
  deployedBytecode: "0x" + c.evm.deployedBytecode.object,
  methodIdentifiers: c.evm.methodIdentifiers,
};
const text = JSON.stringify(artifact, null, 2) + "\n";
const outPath = join(root, "contracts/build", CONTRACT + ".json");

if (check) {
  const current = existsSync(outPath) ? readFileSync(outPath, "utf8") : "";
  if (current !== text) {
    console.error(`build: ${outPath} is stale; run \`bash contracts/build.sh\``);
    process.exit(1);
  }
  console.log(`build: ${outPath} is up to date`);
} else {
  mkdirSync(dirname(outPath), { recursive: true });
  writeFileSync(outPath, text);
  console.log(outPath);
}
