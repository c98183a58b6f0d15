"""Sample sources for the citation and export tests, and a writer of tiny knowledge bases."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

# At least ten CSL types; an authorless report, a literal organisation, particles and accents.
SOURCES: dict[str, dict[str, Any]] = {
    "li-2010": {"type": "article-journal", "title": "mTOR-dependent synapse formation underlies the rapid antidepressant effects of NMDA antagonists", "author": [{"family": "Li", "given": "Nanxin"}, {"family": "Lee", "given": "Boyoung"}, {"family": "Liu", "given": "Rong-Jian"}], "issued": "2010-08-20", "container-title": "Science", "volume": "329", "issue": "5994", "page": "959-964", "DOI": "10.1126/science.1190287", "PMID": "20724638"},  # noqa: E501
    "gogh-1890": {"type": "book", "title": "Lettres à son frère Théo", "author": [{"family": "Gogh", "given": "Vincent", "non-dropping-particle": "van"}], "issued": "1890", "publisher": "Éditions Grasset", "publisher-place": "Paris"},  # noqa: E501
    "fuente-2019": {"type": "chapter", "title": "Ketamine & the synapse: p < 0.05 is not enough", "author": [{"family": "de la Fuente", "given": "José"}, {"family": "Müller", "given": "Jürgen"}], "editor": [{"family": "Østergaard", "given": "Søren"}], "container-title": "Handbook of “Rapid” Antidepressants", "publisher": "Springer", "publisher-place": "Cham", "page": "45-67", "issued": "2019"},  # noqa: E501
    "fda-2019": {"type": "report", "title": "Spravato (esketamine) nasal spray: summary review", "publisher": "U.S. Food and Drug Administration", "number": "211243", "issued": "2019-03-05"},  # noqa: E501
    "who-2021": {"type": "report", "title": "Comprehensive mental health action plan 2013–2030", "author": [{"literal": "World Health Organization"}], "publisher": "World Health Organization", "publisher-place": "Geneva", "issued": "2021"},  # noqa: E501
    "mclean-page": {"type": "webpage", "title": "Ketamine service", "container-title": "McLean Hospital", "URL": "https://www.mcleanhospital.org/treatment/ketamine-service", "accessed": "2024-01-15"},  # noqa: E501
    "blog-2022": {"type": "post-weblog", "title": "What ketamine does to the brain", "author": [{"family": "Beethoven", "given": "Ludwig", "dropping-particle": "van"}], "container-title": "Neuro Notes", "issued": "2022-06", "URL": "https://example.org/blog/ketamine"},  # noqa: E501
    "nyt-2019": {"type": "article-newspaper", "title": "F.D.A. approves new depression drug", "author": [{"family": "O’Brien", "given": "Siobhán"}], "container-title": "The New York Times", "issued": "2019-03-05", "URL": "https://example.org/nyt/fda", "section": "Health"},  # noqa: E501
    "thesis-2015": {"type": "thesis", "title": "Glutamate signalling in depression", "author": [{"family": "Nguyễn", "given": "Thị Minh"}], "genre": "PhD thesis", "publisher": "Université de Montréal", "issued": "2015"},  # noqa: E501
    "conf-2018": {"type": "paper-conference", "title": "A model of rapid antidepressant action", "author": [{"family": "Zanos", "given": "Panos"}, {"family": "Gould", "given": "Todd D."}], "container-title": "Proceedings of the Society for Neuroscience", "event-title": "Neuroscience 2018", "publisher": "SfN", "page": "12-19", "issued": "2018-11", "DOI": "10.1000/conf.2018.12"},  # noqa: E501
    "data-2020": {"type": "dataset", "title": "Ketamine trial outcomes", "author": [{"family": "Krystal", "given": "John H."}], "publisher": "Zenodo", "version": "2.1", "issued": "2020", "DOI": "10.5281/zenodo.123456"},  # noqa: E501
    "film-2017": {"type": "motion_picture", "title": "The ketamine question", "director": [{"family": "Sanacora", "given": "Gerard"}], "publisher": "PBS", "issued": "2017-10-04"},  # noqa: E501
}  # fmt: skip


def write_kb(root: Path, sources: dict[str, dict[str, Any]]) -> Path:
    """Write sources as YAML files (JSON is YAML) under root/sources."""
    (root / "sources").mkdir(parents=True, exist_ok=True)
    for sid, data in sources.items():
        (root / "sources" / f"{sid}.yaml").write_text(json.dumps(data, ensure_ascii=False))
    return root
