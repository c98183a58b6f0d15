// Format CSL-JSON items with citeproc-js (Zotero's processor), for tests/test_reference_corpus.py.
// usage: node render.js < {"style": CSL XML, "items": [CSL-JSON], "format": "text"|"html"}
// prints {"id": {"reference": ..., "intext": ...}} on stdout. Each item is cited alone, in the
// order given, alone: a numeric style's citation is then 1, as kb gives it.
"use strict";
const fs = require("fs");
const path = require("path");
const CSL = require("citeproc");

const locales = JSON.parse(
  fs.readFileSync(path.join(__dirname, "node_modules/@citation-js/plugin-csl/lib/locales.json"), "utf8")
);
const job = JSON.parse(fs.readFileSync(0, "utf8"));
const byId = Object.fromEntries(job.items.map((it) => [String(it.id), it]));
const sys = {
  retrieveLocale: (lang) => locales[lang] || locales["en-US"],
  retrieveItem: (id) => byId[id],
};
const engine = new CSL.Engine(sys, job.style, "en-US", true);
engine.setOutputFormat(job.format || "text");
const ids = job.items.map((it) => String(it.id));
// Each item alone: its bibliography entry (none when the style leaves it out, as APA does
// with personal communications) and its citation. An engine's bibliography lists the ids of
// entries it left out too, so the entries of a run over all items cannot be matched to ids.
const out = {};
for (const id of ids) {
  engine.updateItems([id]);
  const [, entries] = engine.makeBibliography();
  const cluster = engine.makeCitationCluster([{ id: id }]);
  out[id] = { reference: entries.length ? entries[0].trim() : "", intext: cluster };
}
process.stdout.write(JSON.stringify(out));
