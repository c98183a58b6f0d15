"""What `kb new` and `kb init` write, and the placeholders a record must not keep.

Each template loads without errors. Its commented lines are examples that can be uncommented
as they are (remove the `# ` in front, as an editor's toggle-comment does): a list key is
written with no value (`quotes:`) and its commented items below it, so uncommenting gives a
valid list. The placeholders are values no real record has; a record that still holds one is
reported (`template-unedited`).
"""

from __future__ import annotations

PLACEHOLDER_STATEMENT = "TODO: the claim, in neutral words"
PLACEHOLDER_TITLE = "TODO: the title, as printed"
PLACEHOLDER_NAME = "TODO: the name, as the source prints it"
PLACEHOLDER_QUOTE = "the words exactly as printed"

# Every placeholder by the key that holds it.
PLACEHOLDERS = {
    "statement": PLACEHOLDER_STATEMENT,
    "title": PLACEHOLDER_TITLE,
    "name": PLACEHOLDER_NAME,
    "text": PLACEHOLDER_QUOTE,
}

CLAIM = """\
# A claim: one statement an article makes, in neutral words. See docs/format.md.
statement: {statement}
topics: []                         # free-text tags; each gets a page
quotes:{quotes}
#   - text: "the words exactly as printed"
#     source: article-id            # a source id (sources/<id>.yaml)
#     speaker: expert-id            # who the source says spoke them; omit for its own voice
#     attribution: "says Dr. ..."   # how the source introduces the speaker, as printed
#     origin: unknown               # or first-hand, or {{source: earlier-source-id, text: "..."}}
evidence:
#   - source: study-id
#     stance: supports              # supports | contradicts | qualifies | context
#     directness: direct            # direct | indirect
#     locator: "p. 1"
related:
#   - claim: other-claim-id
#     relation: leads-to           # leads-to | part-of | supports | contradicts | refines | same-as
# The review is written by `kb review {id} --verdict V [--attribution A] --reviewer ID`.
"""

EXPERT = """\
# A person or an organisation: a quoted expert, someone else quoted, a reviewer. See docs/format.md.
name: {name}
# kind: expert                     # expert | person | organisation | reviewer
# affiliation: Example University  # declared; shown with a reviewer's verdicts
# credentials: MD, PhD
roles:
#   - title: Chair, Department of Psychiatry
#     organization: Yale School of Medicine
#     source: source-id             # where this role was confirmed
"""

SOURCE = """\
# A publication, in CSL-JSON field names. Leave out every fact you have not verified.
# `kb import FILE` writes sources from Zotero, BibTeX or RIS files, `kb import --doi DOI` from
# a DOI; `kb snapshot {id} PAGE.html` archives the text quotes are checked against.
type: webpage                      # article-journal, book, report, post-weblog, webpage, ...
title: {title}
# author: [{{family: Li, given: Nanxin}}]
# issued: 2010-08-20
# container-title: Science
# DOI: 10.1126/science.1190287
# URL: https://example.org/page
evidence_level: news               # meta-analysis | rct | observational | preclinical | review |
                                   #   regulatory | expert-opinion | news | marketing | blog
# snapshot_scope: full             # full | excerpt; the archived text goes in sources/{id}.txt
"""

CONFIG = """\
# The settings of this knowledge base. Every key is optional; see docs/format.md.
title: {title}
# base_url: https://example.org/audit/   # where the site will be published
style: apa                         # apa | ama | vancouver | chicago | mla
# styles: [apa, vancouver]         # the styles the site's citation boxes offer (default: all)
# severity:                        # change how a check counts
#   orphan-source: "off"
#   quote-untraced: error
"""

GITIGNORE = """\
# written by kb: the built site and the citation cache are made again by `kb build`
/site/
/.kb-cache/
"""

README = """\
# {title}

A knowledge base of `kb`, the research citation knowledge base. Next steps:

1. Import the references you already have (a Zotero CSL-JSON export, a .bib or .ris file, or
   DOIs): `kb import refs.json refs.bib refs.ris`, `kb import --doi 10.1000/xyz`.
   Or write a source by hand: `kb new source my-article`.
2. Archive the text of the article and of each source quotes are checked against, from a saved
   page, a PDF or a text file: `kb snapshot my-article page.html`.
3. Capture each claim quote-first, verified as you type:
   `kb new expert dr-someone`, then
   `kb new claim my-claim --source my-article --quote "the words as printed" --speaker dr-someone`;
   add more quotes with `kb quote add my-claim --source other-source --quote "..."`.
4. `kb check` lists every problem as `file:line:col`; `kb build` writes the site into `site/`.

The format of every file is described in kb's docs/format.md.
"""
