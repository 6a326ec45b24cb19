"""The evaluation report of a model version: report.md and the plots it links, from meta.json alone.

Plots follow services/shared/outputs/charts.py: matplotlib's object API (no pyplot, no global
state), rendered by the Agg canvas without a timestamp, so the same evaluation gives the same bytes.
"""
from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from services.shared.codebook import STANCES, Codebook
from services.shared.outputs.charts import render

# Plot files written next to report.md in the version directory (file name -> what it shows).
F1_PLOT = "report-f1.png"
CONFUSION_PLOT = "report-confusion.png"
RELIABILITY_PLOT = "report-reliability.png"
PLOT_FILES = (F1_PLOT, CONFUSION_PLOT, RELIABILITY_PLOT)
MODEL_COLOUR, ZERO_SHOT_COLOUR, TFIDF_COLOUR = "#1F77B4", "#FF7F0E", "#2CA02C"
STANCE_COLOUR = "#D62728"


def render_plots(meta: dict, codebook: Codebook) -> dict[str, bytes]:
    """PNG bytes of every report plot, by file name."""
    evaluation = meta["evaluation"]
    return {
        F1_PLOT: render(f1_figure(evaluation, codebook), "png"),
        CONFUSION_PLOT: render(confusion_figure(evaluation["knelpunten"]["confusion"], codebook), "png"),
        RELIABILITY_PLOT: render(reliability_figure(evaluation), "png"),
    }


def f1_figure(evaluation: dict, codebook: Codebook) -> Figure:
    """Horizontal bars per knelpunt: the model's held-out F1 beside the zero-shot (and TF-IDF) baseline's."""
    per_code = evaluation["knelpunten"]["per_code"]
    baselines = evaluation["baselines"]
    series = [("this model", MODEL_COLOUR, {c: s["f1"] for c, s in per_code.items()}),
              ("zero-shot (nearest code description)", ZERO_SHOT_COLOUR,
               baselines["zero_shot"]["knelpunt_per_code_f1"])]
    if "tfidf" in baselines:
        series.append(("TF-IDF + logistic regression", TFIDF_COLOUR, baselines["tfidf"]["knelpunt_per_code_f1"]))
    codes = codebook.knelpunten()
    figure = Figure(figsize=(9, max(3.0, 0.42 * len(codes) + 1.5)))
    axes = figure.add_subplot()
    width = 0.8 / len(series)
    for index, (label, colour, f1) in enumerate(series):
        positions = [y + index * width for y in range(len(codes))]
        axes.barh(positions, [f1.get(code.id, 0.0) for code in codes], height=width, label=label, color=colour)
    labels = [f"{code.number}. {code.name} (n={per_code[code.id]['support']})" for code in codes]
    axes.set_yticks([y + 0.4 - width / 2 for y in range(len(codes))], labels, fontsize="small")
    axes.invert_yaxis()
    axes.set_xlim(0, 1)
    axes.set_xlabel("F1 on held-out cases (n = held-out examples with the code)")
    axes.set_title("F1 per knelpunt, grouped cross-validation")
    axes.legend(loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=len(series), fontsize="small")
    figure.tight_layout()
    return figure


def confusion_figure(confusion: dict, codebook: Codebook) -> Figure:
    """Heat map of gold knelpunt (rows) x predicted knelpunt (columns), "none" last, on held-out examples."""
    labels = [_short_label(label, codebook) for label in confusion["labels"]]
    values = np.asarray(confusion["matrix"], dtype=float)
    size = 0.42 * len(labels) + 3
    figure = Figure(figsize=(size + 1, size))
    axes = figure.add_subplot()
    image = axes.imshow(values, cmap="Blues", vmin=0)
    axes.set_xticks(range(len(labels)), labels, rotation=90, fontsize="small")
    axes.set_yticks(range(len(labels)), labels, fontsize="small")
    axes.set_xlabel("predicted knelpunt")
    axes.set_ylabel("gold knelpunt")
    highest = values.max() or 1.0
    for y, row in enumerate(values):
        for x, value in enumerate(row):
            if value:
                axes.text(x, y, str(int(value)), ha="center", va="center", fontsize="x-small",
                          color="white" if value > 0.6 * highest else "black")
    figure.colorbar(image, ax=axes, label="held-out examples", shrink=0.8)
    axes.set_title("Predicted knelpunt for each gold knelpunt (held-out cases)")
    figure.tight_layout()
    return figure


def reliability_figure(evaluation: dict) -> Figure:
    """Reliability curves: observed frequency against mean confidence per bin, knelpunt and stance."""
    figure = Figure(figsize=(10, 4.5))
    curves = [("Knelpunt probabilities (every example x every code)", MODEL_COLOUR,
               evaluation["knelpunten"]["reliability"]),
              ("Stance (top probability)", STANCE_COLOUR, evaluation["stance"]["reliability"])]
    for index, (title, colour, bins) in enumerate(curves, start=1):
        axes = figure.add_subplot(1, 2, index)
        axes.plot([0, 1], [0, 1], linestyle="--", color="#7F7F7F", label="perfectly calibrated")
        filled = [b for b in bins if b["count"]]
        axes.plot([b["mean_confidence"] for b in filled], [b["observed_frequency"] for b in filled],
                  marker="o", color=colour, label="this model (n per bin)")
        for b in filled:
            axes.annotate(str(b["count"]), (b["mean_confidence"], b["observed_frequency"]), fontsize="x-small",
                          textcoords="offset points", xytext=(3, -9))
        axes.set_xlim(-0.02, 1.02)
        axes.set_ylim(-0.02, 1.05)
        axes.set_xlabel("mean predicted probability in the bin")
        axes.set_ylabel("observed share correct")
        axes.set_title(title, fontsize="medium")
        axes.legend(loc="upper left", fontsize="small")
    figure.tight_layout()
    return figure


def _short_label(code_id: str, codebook: Codebook) -> str:
    if code_id == "none":
        return "none"
    code = codebook.code(code_id)
    return f"{code.number}. {code.name}" if code.number else code.name


def render_report(meta: dict, codebook: Codebook) -> str:
    """A readable Markdown evaluation report of one model version, linking the plots of render_plots."""
    ev = meta["evaluation"]
    lines = [
        f"# Model {meta['version']}", "",
        f"- Trained: {meta['created_at']}",
        f"- Data snapshot: `{meta['snapshot_name']}` `{meta['data_snapshot']}` ({meta['examples']['total']} examples: "
        + ", ".join(f"{k} {v}" for k, v in meta["examples"]["by_case"].items()) + ")",
        f"- Codebook: `{meta['codebook']['key']}` {meta['codebook']['version']} "
        f"(sha256 {meta['codebook']['sha256'][:12]}…)",
        f"- Embedder: {meta['embedder']['name']} (`{meta['embedder']['model_id']}`, {meta['embedder']['dim']} dims)",
        f"- Features: {', '.join(meta['feature_set'])}; seed {meta['seed']}",
        f"- Code version: {_code_version(meta['code_version'])}",
        "", "## Evaluation", "", ev["scheme"] + f"; {ev['n_evaluated']} held-out examples.", "",
        *_summary_table(ev),
        *_per_case(ev),
        *_knelpunten(meta, codebook),
        *_confusion(ev["knelpunten"]["confusion"], codebook),
        *_calibration(ev),
        *_stance(ev["stance"]),
        *_solutions(meta, codebook),
        *_spans(meta.get("span_evaluation"), codebook),
    ]
    untrainable = meta.get("untrainable_codes") or []
    lines += ["", f"Codes without training examples (probability always 0): {', '.join(untrainable) or 'none'}.", ""]
    return "\n".join(lines)


def _summary_table(ev: dict) -> list[str]:
    kp, sol, stance, base = ev["knelpunten"], ev["solutions"], ev["stance"], ev["baselines"]
    rows = [("this model", kp["micro_f1"], kp["macro_f1"], sol["micro_f1"], sol["macro_f1"], stance["accuracy"])]
    names = (("tfidf", "TF-IDF + logistic regression (character n-grams only)"),
             ("zero_shot", "zero-shot (nearest code description)"), ("majority", "majority"))
    for key, label in names:
        if key in base:
            b = base[key]
            rows.append((label, b["knelpunt_micro_f1"], b["knelpunt_macro_f1"], b["solution_micro_f1"],
                         b["solution_macro_f1"], b.get("stance_accuracy")))
    lines = ["| | knelpunt micro F1 | knelpunt macro F1 | solution micro F1 | solution macro F1 | stance accuracy |",
             "|---|---|---|---|---|---|"]
    lines += [f"| {label} | {a:.3f} | {b:.3f} | {c:.3f} | {d:.3f} | {'n/a' if e is None else f'{e:.3f}'} |"
              for label, a, b, c, d, e in rows]
    top1 = f" Top-1 micro F1 (the most probable knelpunt forced on every example) {kp['top1_micro_f1']:.3f}." \
        if "top1_micro_f1" in kp else ""
    return lines + [
        "", f"Knelpunt micro precision {kp['micro_precision']:.3f}, recall {kp['micro_recall']:.3f}.{top1} "
        f"Expected calibration error: knelpunt probabilities {kp['ece']:.3f}, stance {stance['ece']:.3f}. "
        "Macro F1 averages the codes that occur in the held-out data. The baselines are scored on the same "
        "folds; the TF-IDF baseline uses the same classifiers, calibration and threshold tuning as this model, "
        "with character 3-5-gram TF-IDF as its only features.",
    ]


def _per_case(ev: dict) -> list[str]:
    lines = ["", "### Per held-out case", "",
             "| held out | train | test | knelpunt micro F1 | knelpunt macro F1 | stance accuracy |",
             "|---|---|---|---|---|---|"]
    return lines + [f"| {f['held_out']} | {f['n_train']} | {f['n_test']} | {f['knelpunt_micro_f1']:.3f} "
                    f"| {f['knelpunt_macro_f1']:.3f} | {f['stance_accuracy']:.3f} |" for f in ev["folds"]]


def _knelpunten(meta: dict, codebook: Codebook) -> list[str]:
    kp, base = meta["evaluation"]["knelpunten"], meta["evaluation"]["baselines"]
    zero_shot = base["zero_shot"].get("knelpunt_per_code_f1", {})
    tfidf = base.get("tfidf", {}).get("knelpunt_per_code_f1")
    lines = ["", "### Knelpunten", "", f"![F1 per knelpunt beside the baselines]({F1_PLOT})", "",
             "Thresholds are those of the shipped model (tuned on out-of-fold scores of all training rows); each "
             "held-out fold used its own. \"> zero-shot\" compares this model's F1 with the zero-shot baseline's "
             "on the same held-out examples.", "",
             "| code | name | precision | recall | F1 | support | zero-shot F1 | TF-IDF F1 | > zero-shot | threshold |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for code in codebook.knelpunten():
        s = kp["per_code"][code.id]
        zs = zero_shot.get(code.id)
        above = "n/a" if not s["support"] or zs is None else ("yes" if s["f1"] > zs else "**no**")
        lines.append(f"| {code.id} | {code.name} | {s['precision']:.3f} | {s['recall']:.3f} | {s['f1']:.3f} "
                     f"| {s['support']} | {_number(zs)} | {_number(tfidf.get(code.id) if tfidf else None)} "
                     f"| {above} | {meta['thresholds'][code.id]:.2f} |")
    if "not_above_zero_shot" in kp:
        behind = kp["not_above_zero_shot"]
        names = ", ".join(f"{c} {codebook.code(c).name}" for c in behind)
        lines += ["", f"Knelpunten with held-out support whose F1 is not above the zero-shot baseline's: "
                      f"{names or 'none'}."]
    return lines


def _confusion(confusion: dict, codebook: Codebook, top: int = 12) -> list[str]:
    labels, matrix = confusion["labels"], confusion["matrix"]
    pairs = sorted(((matrix[g][p], g, p) for g in range(len(labels)) for p in range(len(labels))
                    if g != p and matrix[g][p]), key=lambda item: (-item[0], item[1], item[2]))
    lines = ["", "### Confusion between codes", "", f"![Gold knelpunt x predicted knelpunt]({CONFUSION_PLOT})", "",
             "Rows: gold knelpunt of a held-out example; columns: predicted knelpunt. The diagonal counts hits; "
             "(gold, other) an example with that gold code on which the other code was predicted although it is "
             "not one of its gold codes; (gold, none) a miss with no wrong code in its place; the \"none\" row "
             "holds examples without a gold knelpunt. The most frequent mistakes:", "",
             "| gold | predicted | examples |", "|---|---|---|"]
    lines += [f"| {_short_label(labels[g], codebook)} | {_short_label(labels[p], codebook)} | {n} |"
              for n, g, p in pairs[:top]] or ["| – | – | 0 (no mistakes) |"]
    return lines


def _calibration(ev: dict) -> list[str]:
    kp_bins, stance_bins = ev["knelpunten"]["reliability"], ev["stance"]["reliability"]
    lines = ["", "### Calibration", "", f"![Reliability curves]({RELIABILITY_PLOT})", "",
             f"Knelpunt probabilities: every held-out example x every knelpunt ({sum(b['count'] for b in kp_bins)} "
             f"pairs). Stance: the top probability of each example ({sum(b['count'] for b in stance_bins)}).", "",
             "| bin | knelpunt pairs | mean probability | share positive | stance examples | mean probability "
             "| share correct |", "|---|---|---|---|---|---|---|"]
    for k, s in zip(kp_bins, stance_bins):
        cells = [f"{k['lower']:.1f}–{k['upper']:.1f}", str(k["count"]), _number(k["mean_confidence"], k["count"]),
                 _number(k["observed_frequency"], k["count"]), str(s["count"]),
                 _number(s["mean_confidence"], s["count"]), _number(s["observed_frequency"], s["count"])]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _stance(stance: dict) -> list[str]:
    lines = ["", "### Stance", "", "| gold \\ predicted | " + " | ".join(STANCES) + " |",
             "|---" * (len(STANCES) + 1) + "|"]
    return lines + [f"| {g} | " + " | ".join(str(stance["confusion"][g][p]) for p in STANCES) + " |" for g in STANCES]


def _solutions(meta: dict, codebook: Codebook) -> list[str]:
    sol = meta["evaluation"]["solutions"]
    lines = ["", "### Solutions", "", "| code | precision | recall | F1 | support | threshold |",
             "|---|---|---|---|---|---|"]
    for code in codebook.solutions():
        s = sol["per_code"][code.id]
        if s["support"] or s["predicted"]:
            lines.append(f"| {code.id} | {s['precision']:.3f} | {s['recall']:.3f} | {s['f1']:.3f} | {s['support']} "
                         f"| {meta['thresholds'][code.id]:.2f} |")
    return lines


def _spans(spans: dict | None, codebook: Codebook) -> list[str]:
    if not spans:
        return ["", "## Span-level scores on the example transcripts", "",
                "Not measured for this version (no gold-coded transcripts were given to training)."]
    kp, sol = spans["knelpunten"], spans["solutions"]
    lines = ["", "## Span-level scores on the example transcripts", "",
             f"The whole pipeline (segmenter `{spans['segmenter']}`, this model, quotation merging) on "
             f"{len(spans['transcripts'])} gold-coded transcripts that no model was trained on "
             f"({', '.join(spans['transcripts'])}): {spans['sentences']} respondent sentences, "
             f"{spans['predicted_quotations']} predicted quotations, {spans['gold_quotations']} gold quotations. "
             f"Rule: {spans['rule']}.", "",
             "| codes | precision | recall | F1 | macro F1 | predicted (matched) | gold (found) |",
             "|---|---|---|---|---|---|---|"]
    for label, s in (("knelpunten", kp), ("solutions", sol)):
        lines.append(f"| {label} | {s['micro_precision']:.3f} | {s['micro_recall']:.3f} | {s['micro_f1']:.3f} "
                     f"| {s['macro_f1']:.3f} | {s['predicted']} ({s['matched_predicted']}) "
                     f"| {s['gold']} ({s['matched_gold']}) |")
    lines += ["", "| knelpunt | name | precision | recall | F1 | predicted (matched) | gold (found) |",
              "|---|---|---|---|---|---|---|"]
    for code in codebook.knelpunten():
        s = kp["per_code"].get(code.id)
        if s:
            lines.append(f"| {code.id} | {code.name} | {s['precision']:.3f} | {s['recall']:.3f} | {s['f1']:.3f} "
                         f"| {s['predicted']} ({s['matched_predicted']}) | {s['gold']} ({s['matched_gold']}) |")
    lines += ["", "| transcript | sentences | predicted quotations | gold quotations | knelpunt micro F1 |",
              "|---|---|---|---|---|"]
    lines += [f"| {name} | {t['sentences']} | {t['predicted_quotations']} | {t['gold_quotations']} "
              f"| {t['knelpunt_micro_f1']:.3f} |" for name, t in spans["per_transcript"].items()]
    return lines


def _number(value: float | None, count: int = 1) -> str:
    return "–" if value is None or not count else f"{value:.3f}"


def _code_version(version: dict) -> str:
    if version.get("git_commit"):
        return f"git {version['git_commit'][:12]}" + (" with uncommitted changes" if version.get("dirty") else "")
    return f"package {version.get('package_version')} (no git commit)"
