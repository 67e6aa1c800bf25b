/* tempeval leaderboard: draws window.TEMPEVAL_DATA (data.js) as an overview table, benchmark pages, a
 * diagnostics scatter and per-run sample browsers. Vanilla JS, no network, works from file://.
 *
 * Every string in the data comes from result files and is untrusted: it reaches the page only as text
 * (textContent / Text nodes / attribute values), never as markup. Links are built here or must be http(s).
 */
(function () {
  "use strict";

  const DATA = window.TEMPEVAL_DATA;
  const app = document.getElementById("app");
  const SVG_NS = "http://www.w3.org/2000/svg";
  const PAGE_SIZE = 50;
  const META_HIDDEN = new Set(["video_id", "duration_s", "fps", "subset"]);
  const SAMPLE_HEADERS = ["Sample", "Question and options", "Target", "Model output (raw)", "Parsed", "Result", "Frames seen (s)"];
  const KIND_LABELS = {
    multiple_choice: "multiple choice", grounding: "grounding", binary_pair: "binary pair", online: "online",
  };

  // ---------------------------------------------------------------------------------------------- helpers

  /** Build an element: props set attributes/handlers, children become nodes (strings as Text, never HTML). */
  function el(tag, props, ...children) {
    const node = document.createElement(tag);
    setProps(node, props);
    appendAll(node, children);
    return node;
  }

  /** Replace a node's children; null/false children (optional parts) are skipped, as in el(). */
  function fill(node, ...children) {
    node.replaceChildren();
    appendAll(node, children);
  }

  /** Append to the page body; null/false children (optional sections) are skipped. */
  function add(...children) {
    appendAll(app, children);
  }

  function svg(tag, props, ...children) {
    const node = document.createElementNS(SVG_NS, tag);
    setProps(node, props);
    appendAll(node, children);
    return node;
  }

  function setProps(node, props) {
    for (const [key, value] of Object.entries(props || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "class") node.setAttribute("class", value);
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else if (key === "href") node.setAttribute("href", safeHref(value));
      else node.setAttribute(key, value === true ? "" : String(value));
    }
  }

  function appendAll(node, children) {
    for (const child of children.flat(Infinity)) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : String(child));
    }
  }

  /** Links: in-page routes, files of this site, or http(s); anything else (javascript:, data:) is dropped. */
  function safeHref(href) {
    const text = String(href);
    if (text.startsWith("#") || /^https?:\/\//i.test(text) || /^[\w.-]+(\/[\w.-]+)*$/.test(text)) return text;
    return "#";
  }

  function route(...parts) {
    return "#/" + parts.map((p) => encodeURIComponent(p)).join("/");
  }

  function byKey(list, key) {
    const map = new Map();
    for (const item of list) map.set(item[key], item);
    return map;
  }

  const isNum = (v) => typeof v === "number" && isFinite(v);
  const fmt = (v, digits = 1) => (isNum(v) ? v.toFixed(digits) : "—");
  const pct = (part, whole) => (whole > 0 ? (100 * part) / whole : 0);
  const plural = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;

  function ciText(ci) {
    return ci && isNum(ci[0]) && isNum(ci[1]) ? `${fmt(ci[0])}–${fmt(ci[1])}` : "";
  }

  /** A score with its 95% CI in small print. */
  function scoreNode(metric) {
    const frag = document.createDocumentFragment();
    frag.append(el("span", { class: "v" }, fmt(metric && metric.value)));
    const ci = metric ? ciText(metric.ci) : "";
    if (ci) frag.append(el("span", { class: "ci", title: "95% confidence interval" }, ci));
    return frag;
  }

  function kindBadge(kind) {
    return el("span", { class: "kind kind-" + String(kind).replace(/[^a-z_]/g, "") }, labelOf(KIND_LABELS, kind));
  }

  /** A display label for a known key; the key itself otherwise (never an inherited property such as "constructor"). */
  function labelOf(labels, key) {
    return Object.prototype.hasOwnProperty.call(labels, key) ? labels[key] : String(key);
  }

  function valueText(value) {
    if (value === null || value === undefined) return "—";
    return typeof value === "string" ? value : JSON.stringify(value);
  }

  /** Order metric names: the headline first, then overall metrics, then breakdowns (x[key=v]). */
  function metricOrder(names, headline) {
    const rank = (n) => (n === headline ? 0 : n.includes("[") ? 2 : 1);
    return [...names].sort((a, b) => rank(a) - rank(b) || names.indexOf(a) - names.indexOf(b));
  }

  // ---------------------------------------------------------------------------------------------- data

  if (!DATA) {
    fill(app, el("p", { class: "empty" }, "data.js is missing: rebuild the site with 'tempeval leaderboard build'."));
    return;
  }
  const models = byKey(DATA.models, "id");
  const benches = byKey(DATA.benchmarks, "id");
  const runs = byKey(DATA.runs, "id");
  const cells = new Map(DATA.cells.map((c) => [c.model + "\u0000" + c.benchmark, c]));
  const cellOf = (model, bench) => cells.get(model + "\u0000" + bench);
  const modelName = (id) => (models.get(id) ? models.get(id).name : id);
  const allKinds = [...new Set(DATA.benchmarks.flatMap((b) => b.kinds))].sort();
  const allTypes = [...new Set(DATA.models.map((m) => m.type || "unknown"))].sort();
  const hasMeta = (field) => DATA.models.some((m) => m[field]);
  const STATUS_LABELS = {
    current: "current", older_version: "older task version", superseded: "superseded", variant: "diagnostic variant",
    shard: "shard (part of a merged run)",
  };

  const state = {
    query: "",
    kinds: new Set(allKinds),
    benches: new Set(DATA.benchmarks.map((b) => b.id)),
    types: new Set(allTypes),
    sort: { key: "avg", dir: -1 },
  };

  // ---------------------------------------------------------------------------------------------- table

  /**
   * A sortable table. columns: {key, label, title, num, value(row), cell(row), cls, head}; a click on a header
   * sorts by it (numbers high to low first); missing values always sort last.
   */
  function sortableTable(columns, rows, opts = {}) {
    const sort = opts.sort || { key: opts.sortKey || null, dir: -1 };
    const table = el("table", { class: "grid " + (opts.cls || "") });
    const thead = el("thead");
    const tbody = el("tbody");
    table.append(thead, tbody);

    function compare(col) {
      return (a, b) => {
        const x = col.value(a), y = col.value(b);
        const missX = x === null || x === undefined || x === "", missY = y === null || y === undefined || y === "";
        if (missX || missY) return missX - missY;
        return (typeof x === "number" && typeof y === "number" ? x - y : String(x).localeCompare(String(y))) * sort.dir;
      };
    }

    function draw() {
      const col = columns.find((c) => c.key === sort.key && c.value);
      const ordered = col ? [...rows].sort(compare(col)) : rows;
      const best = new Map();
      for (const c of columns) {
        const row = c.best ? clearBest(ordered, c) : null;
        if (row) best.set(c.key, row);
      }
      fill(thead, el("tr", null, columns.map((c) => header(c))));
      fill(tbody,
        ...ordered.map((row, index) =>
          el("tr", opts.rowProps ? opts.rowProps(row) : null, columns.map((c) => {
            const td = el("td", { class: (c.cls || "") + (c.num ? " num" : "") }, c.cell(row, index));
            if (best.get(c.key) === row) td.classList.add("best");
            return td;
          }))
        )
      );
      if (!ordered.length) {
        tbody.append(el("tr", null, el("td", { class: "empty", colspan: columns.length }, opts.empty || "Nothing to show.")));
      }
      if (opts.foot) table.append(el("tfoot", null, opts.foot(columns)));
    }

    function header(c) {
      const active = sort.key === c.key;
      const th = el("th", {
        class: (c.num ? "num " : "") + (c.value ? "sortable" : "") + (active ? " sorted" : ""),
        title: c.title || null,
        "data-key": c.key,
        "aria-sort": active ? (sort.dir > 0 ? "ascending" : "descending") : null,
      }, c.head ? c.head() : c.label, active ? el("span", { class: "arrow" }, sort.dir > 0 ? "▲" : "▼") : null);
      if (c.value) {
        th.addEventListener("click", (event) => {
          if (event.target.closest("a")) return;
          if (sort.key === c.key) sort.dir = -sort.dir;
          else { sort.key = c.key; sort.dir = c.num ? -1 : 1; }
          draw();
        });
      }
      return th;
    }

    draw();
    return el("div", { class: "table-wrap" }, table);
  }

  /**
   * The row to set in bold in a column: the best, only when its 95% CI does not overlap the runner-up's
   * (c.ci(row) gives [low, high]); none when the top two tie, overlap, or either has no CI.
   */
  function clearBest(rows, c) {
    const ranked = rows.filter((row) => isNum(c.value(row))).sort((a, b) => c.value(b) - c.value(a));
    if (ranked.length < 2 || !c.ci) return null;
    const [top, next] = ranked;
    const topCi = c.ci(top), nextCi = c.ci(next);
    if (!hasCi(topCi) || !hasCi(nextCi) || c.value(top) === c.value(next)) return null;
    return topCi[0] > nextCi[1] ? top : null;
  }

  const hasCi = (ci) => Array.isArray(ci) && isNum(ci[0]) && isNum(ci[1]);

  const BOLD_RULE = "Bold: the best score whose 95% CI does not overlap the runner-up's; no bold where they overlap " +
    "or a CI is missing.";

  /** A table's "chance" row: the chance level under each column that has one (chanceOf(column) -> {value, rule}). */
  function chanceRow(columns, chanceOf) {
    return el("tr", { class: "chance-row" }, columns.map((c) => {
      if (c.key === "model") return el("td", { class: "model" }, "chance level");
      const chance = chanceOf(c);
      if (!chance) return el("td", null, "");
      return el("td", { class: "num chance", title: chance.rule },
        isNum(chance.value) ? fmt(chance.value) : el("span", { class: "muted" }, "—"));
    }));
  }

  function chips(label, values, selected, onChange, describe) {
    const box = el("div", { class: "chips", role: "group", "aria-label": label }, el("span", { class: "chips-label" }, label));
    for (const value of values) {
      const button = el("button", {
        type: "button", class: "chip", "data-value": value, "aria-pressed": String(selected.has(value)),
        onclick: () => {
          if (selected.has(value)) selected.delete(value); else selected.add(value);
          button.setAttribute("aria-pressed", String(selected.has(value)));
          onChange();
        },
      }, describe ? describe(value) : value);
      box.append(button);
    }
    return box;
  }

  // ---------------------------------------------------------------------------------------------- overview

  function visibleBenches() {
    return DATA.benchmarks.filter((b) => state.benches.has(b.id) && b.kinds.some((k) => state.kinds.has(k)));
  }

  function average(model, shown) {
    const values = shown.map((b) => { const c = cellOf(model, b.id); return c ? c.value : null; });
    return shown.length && values.every(isNum) ? values.reduce((s, v) => s + v, 0) / values.length : null;
  }

  function viewOverview() {
    const host = el("div", { id: "overview-table" });
    const detail = el("div", { id: "detail", class: "detail", hidden: true });
    const search = el("input", {
      type: "search", id: "model-filter", placeholder: "Filter models…", value: state.query, "aria-label": "Filter models",
    });
    search.addEventListener("input", () => { state.query = search.value; draw(); });
    const benchList = DATA.benchmarks.map((b) => b.id);
    const controls = el("section", { class: "controls" },
      search,
      chips("Kind", allKinds, state.kinds, draw, (k) => labelOf(KIND_LABELS, k)),
      chips("Benchmark", benchList, state.benches, draw, (id) => benches.get(id).label),
      allTypes.length > 1 ? chips("Type", allTypes, state.types, draw) : null);

    function draw() {
      const shown = visibleBenches();
      const query = state.query.trim().toLowerCase();
      const rows = DATA.models.filter((m) =>
        shown.some((b) => cellOf(m.id, b.id)) &&
        state.types.has(m.type || "unknown") &&
        (!query || (m.id + " " + m.name).toLowerCase().includes(query)));
      const avg = new Map(rows.map((m) => [m.id, average(m.id, shown)]));
      const columns = [
        { key: "rank", label: "#", num: true, cls: "rank", cell: (m, i) => String(i + 1) },
        { key: "model", label: "Model", value: (m) => m.name.toLowerCase(), cell: modelCell, cls: "model" },
      ];
      if (hasMeta("size")) {
        columns.push({ key: "size", label: "Size", num: true, value: (m) => sizeValue(m.size), cell: (m) => m.size || "—" });
      }
      if (hasMeta("date")) columns.push({ key: "date", label: "Date", value: (m) => m.date, cell: (m) => m.date || "—" });
      if (hasMeta("type")) columns.push({ key: "type", label: "Type", value: (m) => m.type, cell: (m) => m.type || "—" });
      columns.push({
        key: "frames", label: "Frames · resolution", cls: "frames",
        title: "Frame policy of the model's current runs: N frames or fps (max), and max side in px or native",
        value: (m) => framesOf(m.id).join("; "), cell: (m) => framesOf(m.id).join("; ") || "—",
      });
      columns.push({
        key: "avg", label: "Average", num: true, best: true, cls: "score avg",
        title: "Mean over the benchmarks shown, for models that have all of them",
        value: (m) => avg.get(m.id), cell: (m) => avgCell(m, shown, avg.get(m.id)),
      });
      for (const b of shown) {
        columns.push({
          key: "b:" + b.id, num: true, best: true, cls: "score",
          title: `${b.label}: ${b.metric}` + (b.is_group ? ` (${b.aggregate} over ${plural(b.tasks.length, "task")})` : ""),
          head: () => [el("a", { href: route("b", b.id), class: "bench-link" }, b.label), el("span", { class: "metric-name" }, b.metric)],
          value: (m) => { const c = cellOf(m.id, b.id); return c ? c.value : null; },
          ci: (m) => { const c = cellOf(m.id, b.id); return c ? c.ci : null; },
          chance: b.chance,
          cell: (m) => benchCell(m, b, detail),
        });
      }
      if (!columns.some((c) => c.key === state.sort.key)) state.sort.key = "avg";
      fill(host, sortableTable(columns, rows, {
        sort: state.sort, cls: "overview", empty: "No model matches these filters.",
        rowProps: (m) => ({ "data-model": m.id }),
        foot: (cols) => chanceRow(cols, (c) => c.chance),
      }));
    }

    draw();
    const streaming = DATA.runs.filter((r) => r.kind === "streaming" && r.status === "current");
    const older = DATA.runs.filter((r) => r.status === "older_version");
    add(
      el("h1", null, "Leaderboard"),
      el("p", { class: "lede" },
        "Headline metric per benchmark with its 95% confidence interval. Hover a score for its provenance; " +
        "click it for the runs behind it and their samples. A dot marks errors or unparseable answers."),
      controls, host,
      el("p", { class: "legend", id: "legend" }, BOLD_RULE + " Chance level: what guessing scores (per task from " +
        "its options; none for grounding); hover it for how it was found."),
      detail,
      streaming.length ? streamingTable(streaming) : null,
      older.length ? olderVersions(older) : null);
  }

  /** Streaming runs: when the models answered, beside what they answered (tempeval's metrics; official views
   * are on each run's page). */
  function streamingTable(list) {
    const metric = (name, label, title, unit = "") => ({
      key: name, label, num: true, cls: "score", title,
      value: (r) => (r.metrics[name] ? r.metrics[name].value : null),
      ci: (r) => (r.metrics[name] ? r.metrics[name].ci : null),
      cell: (r) => (r.metrics[name] ? [scoreNode(r.metrics[name]), unit ? el("span", { class: "muted" }, unit) : null] : "—"),
    });
    const columns = [
      { key: "model", label: "Model", value: (r) => r.model, cell: (r) => r.model, cls: "model" },
      { key: "task", label: "Task", value: (r) => r.task, cell: (r) => el("a", { href: route("run", r.id) }, r.task) },
      metric("timing_score", "Timing score", "1 inside the due window, halving every half-life after it, 0 before it"),
      metric("event_recall", "Recall", "Due windows answered"),
      metric("response_precision", "Precision", "Responses that answered a window"),
      metric("mean_delay_s", "Mean delay", "Seconds from the event to the first answer", " s"),
      metric("median_delay_s", "Median delay", "Seconds from the event to the first answer", " s"),
      metric("query_time_accuracy", "Query-time acc.", "First answer at or after each question's time"),
      { key: "stream", label: "Stream", value: (r) => r.stream || "", cell: (r) => r.stream || "—", cls: "frames" },
    ];
    return el("section", { class: "streaming" },
      el("h2", null, "Streaming"),
      el("p", { class: "legend" }, "Runs of streaming tasks: the model watched each stream and chose when to answer. " +
        "Delays are in seconds; the other numbers are percentages with 95% CIs."),
      sortableTable(columns, list, { sort: { key: "timing_score", dir: -1 }, cls: "streaming-table", empty: "No streaming run.",
        rowProps: (r) => ({ "data-run": r.id }) }));
  }

  function framesOf(model) {
    return (DATA.model_frames || {})[model] || [];
  }

  function sizeValue(size) {
    const match = /([\d.]+)\s*([MBT]?)/i.exec(size || "");
    if (!match) return null;
    const scale = { m: 0.001, b: 1, t: 1000 }[match[2].toLowerCase()] || 1;
    return parseFloat(match[1]) * scale;
  }

  function modelCell(m) {
    const name = m.link && /^https?:\/\//i.test(m.link)
      ? el("a", { href: m.link, rel: "noopener noreferrer", target: "_blank" }, m.name)
      : el("span", null, m.name);
    return [name, m.name !== m.id ? el("span", { class: "sub" }, m.id) : null];
  }

  function avgCell(m, shown, value) {
    if (isNum(value)) return el("span", { class: "v" }, fmt(value));
    const missing = shown.filter((b) => !isNum((cellOf(m.id, b.id) || {}).value)).map((b) => b.label);
    return el("span", { class: "v missing", title: "No average: no score on " + missing.join(", ") }, "—");
  }

  function cellRuns(cell) {
    return cell.runs.map((id) => runs.get(id)).filter(Boolean);
  }

  function flagText(cell) {
    const answered = cell.samples - cell.errors;
    const parts = [];
    if (cell.errors) parts.push(`${cell.errors} errors (${fmt(pct(cell.errors, cell.samples))}%)`);
    if (cell.unparseable) parts.push(`${cell.unparseable} unparseable (${fmt(pct(cell.unparseable, answered))}%)`);
    return parts.join(", ");
  }

  function benchCell(m, b, detail) {
    const cell = cellOf(m.id, b.id);
    if (!cell) return el("span", { class: "v missing" }, "");
    const title = [
      `${modelName(m.id)} · ${b.label} · ${cell.metric} ${fmt(cell.value, 2)}` + (ciText(cell.ci) ? ` (95% CI ${ciText(cell.ci)})` : ""),
      cell.missing.length ? `incomplete: no current run of ${cell.missing.join(", ")}` : null,
      cell.ci_note || null,
      ...(cell.warnings || []).map((w) => `warning: ${w}`),
      ...cellRuns(cell).map(runLine),
    ].filter(Boolean).join("\n");
    const button = el("button", {
      type: "button", class: "cell", title, "data-model": m.id, "data-bench": b.id,
      onclick: () => showDetail(detail, m, b, cell),
    });
    if (isNum(cell.value)) button.append(scoreNode(cell));
    else button.append(el("span", { class: "v missing" }, "—"),
      el("span", { class: "ci" }, `${b.tasks.length - cell.missing.length}/${b.tasks.length} tasks`));
    if (cell.errors || cell.unparseable) button.append(el("span", { class: "flag", title: flagText(cell) }, "●"));
    if ((cell.warnings || []).length) {
      button.append(el("span", { class: "partial", title: cell.warnings.join("\n") }, "⚠ " + cell.warnings.length));
    }
    if (cellRuns(cell).some((r) => r.partial)) {
      button.append(el("span", { class: "partial", title: "run with --limit: not the whole task" }, "partial"));
    }
    const unfinished = cellRuns(cell).filter((r) => r.complete === false);
    if (unfinished.length) {
      button.append(el("span", { class: "partial", title: "a run was stopped before its last sample and never resumed" },
        unfinished.map((r) => `INCOMPLETE ${r.n}/${r.samples}`).join(" ")));
    }
    return button;
  }

  function runLine(run) {
    return `${run.task} v${run.task_version} · ${run.frames} · ${run.generation_label || "?"} · ` +
      `${run.parser_mode || "?"} parser · n=${run.n}` +
      (run.complete === false ? ` INCOMPLETE ${run.n}/${run.samples}` : "") +
      (run.partial ? ` (first ${run.limit} only)` : "") +
      ` · errors ${fmt(run.error_rate)}% · unparseable ${fmt(run.parse_failure_rate)}% · ${run.file}`;
  }

  function showDetail(detail, m, b, cell) {
    detail.hidden = false;
    fill(detail,
      el("button", { type: "button", class: "close", "aria-label": "Close", onclick: () => { detail.hidden = true; } }, "×"),
      el("h3", null, `${modelName(m.id)} on `, el("a", { href: route("b", b.id) }, b.label)),
      el("p", null, el("strong", null, `${cell.metric} ${fmt(cell.value, 2)}`),
        ciText(cell.ci) ? ` (95% CI ${ciText(cell.ci)})` : ` (${cell.ci_note || "no CI"})`,
        ` · ${plural(cell.samples, "sample")}`, flagText(cell) ? ` · ${flagText(cell)}` : ""),
      cell.missing.length ? el("p", { class: "warn" }, "Incomplete: no current run of " + cell.missing.join(", ")) : null,
      ...(cell.warnings || []).map((w) => el("p", { class: "warn" }, "Warning: " + w)),
      runTable(cellRuns(cell), { model: false }));
    detail.scrollIntoView({ block: "nearest" });
  }

  /** Runs as a table: what produced each number and a link to its samples. */
  function runTable(list, { model = true, status = false } = {}) {
    const columns = [];
    if (model) columns.push(modelColumn((r) => r.model));
    columns.push(
      { key: "task", label: "Task", value: (r) => r.task, cell: (r) => r.task },
      { key: "version", label: "Version", value: (r) => r.task_version, cell: (r) => r.task_version });
    if (status) {
      columns.push({ key: "status", label: "Status", value: (r) => r.status, cell: (r) => labelOf(STATUS_LABELS, r.status) });
    }
    columns.push({
      key: "headline", label: "Headline", num: true, cls: "score",
      value: (r) => r.metrics[r.headline] && r.metrics[r.headline].value,
      cell: (r) => [scoreNode(r.metrics[r.headline]), el("span", { class: "metric-name" }, r.headline)],
    }, ...provenanceColumns((r) => r, true));
    return sortableTable(columns, list, { sortKey: null, cls: "runs" });
  }

  function modelColumn(modelOf) {
    return {
      key: "model", label: "Model", cls: "model",
      value: (row) => modelName(modelOf(row)).toLowerCase(), cell: (row) => modelName(modelOf(row)),
    };
  }

  /** Where a number comes from: counts, error and parse-failure rates, frames, parser, (file,) samples link. */
  function provenanceColumns(runOf, withFile) {
    const columns = [
      { key: "n", label: "n", num: true, value: (x) => runOf(x).n, cell: (x) => String(runOf(x).n) },
      {
        key: "err", label: "Errors", num: true, value: (x) => runOf(x).error_rate,
        cell: (x) => rate(runOf(x).errors, runOf(x).error_rate),
      },
      {
        key: "unp", label: "Unparseable", num: true, value: (x) => runOf(x).parse_failure_rate,
        cell: (x) => rate(runOf(x).unparseable, runOf(x).parse_failure_rate),
      },
      { key: "frames", label: "Frames", value: (x) => runOf(x).frames, cell: (x) => runOf(x).frames },
      { key: "parser", label: "Parser", value: (x) => runOf(x).parser_mode, cell: (x) => runOf(x).parser_mode || "—" },
    ];
    if (withFile) {
      columns.push(
        {
          key: "started", label: "Started", value: (x) => runOf(x).started_at,
          cell: (x) => (runOf(x).started_at || "—").replace("T", " ").slice(0, 16),
        },
        { key: "file", label: "Run file", value: (x) => runOf(x).file, cell: (x) => el("code", null, runOf(x).file) });
    }
    columns.push({
      key: "samples", label: "",
      cell: (x) => el("a", { href: route("run", runOf(x).id), class: "samples-link", title: runOf(x).file }, "samples →"),
    });
    return columns;
  }

  function rate(count, value) {
    return el("span", { class: count ? "bad" : "muted" }, count ? `${count} (${fmt(value)}%)` : "0");
  }

  function olderVersions(list) {
    return el("section", { class: "older" },
      el("h2", null, "Runs of older task versions"),
      el("p", { class: "lede" }, "A task's version changes with its prompt, split, frame policy or scorer, so these " +
        "scores are not comparable with the columns above and are listed apart."),
      runTable(list));
  }

  // ---------------------------------------------------------------------------------------------- benchmark

  function viewBenchmark(id) {
    const b = benches.get(id);
    if (!b) return notFound(`No benchmark '${id}' in this leaderboard.`);
    add(
      el("p", { class: "crumbs" }, el("a", { href: "#/" }, "Overview"), " / ", b.label),
      el("h1", null, b.label, " ", b.kinds.map(kindBadge)),
      b.description ? el("p", { class: "lede" }, b.description) : null,
      benchmarkCharts(b));
    if (b.is_group) {
      const results = DATA.group_results.filter((g) => g.group === b.id);
      add(el("h2", null, "Benchmark score"));
      add(results.length
        ? metricTable(results.map((g) => ({ model: g.model, metrics: g.metrics, headline: b.metric })), b.metric, b.chance)
        : el("p", { class: "empty" }, "No model has a current run of every task of this benchmark yet."));
      for (const g of results) {
        for (const w of g.warnings || []) add(el("p", { class: "warn" }, `${modelName(g.model)}: ${w}`));
        if (g.ci_note && isNum((g.metrics[b.metric] || {}).value)) {
          add(el("p", { class: "muted ci-note" }, `${modelName(g.model)}: ${g.ci_note}`));
        }
      }
    }
    for (const task of b.tasks) {
      const info = DATA.tasks[task];
      const list = DATA.runs.filter((r) => r.task === task && r.status === "current");
      if (!info && !list.length) {
        add(el("h2", null, task), el("p", { class: "empty" }, "No current run of this task."));
        continue;
      }
      add(
        el("h2", { id: "task-" + task }, task, " ", el("span", { class: "version" }, "v" + info.version), " ", kindBadge(info.kind)),
        info.description ? el("p", { class: "desc" }, info.description) : null,
        metricTable(list.map((r) => ({ model: r.model, metrics: r.metrics, headline: r.headline, run: r })), info.headline,
          info.chance));
    }
    const older = DATA.runs.filter((r) => b.tasks.includes(r.task) && r.status === "older_version");
    if (older.length) add(olderVersions(older));
  }

  /** The benchmark's score per model as bars with CI whiskers, then its breakdowns (one chart per dimension). */
  function benchmarkCharts(b) {
    const scored = DATA.cells.filter((c) => c.benchmark === b.id && isNum(c.value)).sort((x, y) => y.value - x.value);
    if (!scored.length) return null;
    const chance = b.chance && isNum(b.chance.value) ? b.chance.value : null;
    const charts = [barChart({
      title: `${b.metric} per model (95% CI)`, chance, id: "score-chart",
      groups: scored.map((c) => ({ label: modelName(c.model), bars: [{ label: modelName(c.model), value: c.value, ci: c.ci, series: 0 }] })),
    })];
    const rows = b.is_group
      ? DATA.group_results.filter((g) => g.group === b.id).map((g) => ({ model: g.model, metrics: g.metrics }))
      : DATA.runs.filter((r) => r.task === b.id && r.status === "current").map((r) => ({ model: r.model, metrics: r.metrics }));
    rows.sort((x, y) => modelName(x.model).localeCompare(modelName(y.model)));
    for (const [dimension, names] of breakdowns(b, rows)) {
      charts.push(barChart({
        title: `${b.label} by ${dimension}`, legend: rows.map((r) => modelName(r.model)), id: "breakdown-" + dimension,
        groups: names.map(([name, label]) => ({
          label, bars: rows.map((r, k) => ({ label: `${modelName(r.model)} · ${name}`, value: (r.metrics[name] || {}).value,
            ci: (r.metrics[name] || {}).ci, series: k })),
        })),
      }));
    }
    return el("div", { class: "plots charts" }, charts);
  }

  /** Breakdown dimensions: [dimension, [[metric name, label], ...]]: x[key=value] metrics by key; for a macro
   * group without them, its member tasks' headlines. */
  function breakdowns(b, rows) {
    const found = new Map();
    for (const row of rows) {
      for (const name of Object.keys(row.metrics)) {
        const match = /^[^[]+\[([^=\]]+)=(.*)\]$/.exec(name);
        if (!match) continue;
        if (!found.has(match[1])) found.set(match[1], []);
        if (!found.get(match[1]).some(([n]) => n === name)) found.get(match[1]).push([name, match[2]]);
      }
    }
    if (!found.size && b.is_group && b.aggregate === "macro" && b.tasks.length > 1) {
      const members = b.tasks.map((t) => [t.startsWith(b.id + "_") ? t.slice(b.id.length + 1) : t, t])
        .filter(([name]) => rows.some((r) => r.metrics[name]));
      if (members.length) found.set("task", members);
    }
    return [...found.entries()].filter(([, names]) => names.length > 1).slice(0, 4);
  }

  /**
   * An inline-SVG bar chart: groups of bars (one bar per series), each with its 95% CI as a whisker, and a
   * dashed chance line where known. groups: [{label, bars: [{label, value, ci, series}]}].
   */
  function barChart({ title, groups, chance = null, legend = null, id = null }) {
    const BAR = 18, GAP = 16, H = 280, M = { l: 44, r: 12, t: 30, b: 58 };
    const perGroup = Math.max(...groups.map((g) => g.bars.length));
    const W = Math.max(360, M.l + M.r + groups.length * (perGroup * BAR + GAP));
    const values = groups.flatMap((g) => g.bars.flatMap((bar) => [bar.value, ...(bar.ci || [])])).filter(isNum);
    const y1 = Math.max(100, ...values, isNum(chance) ? chance : 0), y0 = Math.min(0, ...values);
    const sy = (v) => H - M.b - ((v - y0) / (y1 - y0)) * (H - M.t - M.b);
    const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, width: W, height: H, role: "img", "aria-label": title, class: "bar-chart" });
    root.append(svg("text", { x: M.l, y: 18, class: "plot-title" }, title));
    const axes = svg("g", { class: "axes" });
    for (const t of niceTicks(y0, y1, 5)) {
      axes.append(svg("line", { x1: M.l, x2: W - M.r, y1: sy(t), y2: sy(t), class: t === 0 ? "zero" : "gridline" }),
        svg("text", { x: M.l - 6, y: sy(t) + 4, "text-anchor": "end" }, String(t)));
    }
    root.append(axes);
    groups.forEach((group, g) => {
      const x0 = M.l + GAP / 2 + g * (perGroup * BAR + GAP);
      const width = group.bars.length * BAR;
      root.append(svg("text", {
        x: x0 + width / 2, y: H - M.b + 14, "text-anchor": "end", class: "bar-label",
        transform: `rotate(-30 ${x0 + width / 2} ${H - M.b + 14})`,
      }, group.label.length > 18 ? group.label.slice(0, 17) + "…" : group.label, svg("title", null, group.label)));
      group.bars.forEach((bar, k) => {
        if (!isNum(bar.value)) return;
        const x = x0 + k * BAR, top = sy(Math.max(bar.value, 0)), base = sy(Math.min(bar.value, 0));
        const item = svg("g", { class: "bar-item", "data-value": bar.value },
          svg("rect", { x: x + 1, y: top, width: BAR - 2, height: Math.max(base - top, 0.5), class: `bar s${bar.series % 8}` }),
          svg("title", null, `${bar.label}: ${fmt(bar.value)}` + (hasCi(bar.ci) ? ` (95% CI ${ciText(bar.ci)})` : " (no CI)")));
        if (hasCi(bar.ci)) {
          const cx = x + BAR / 2;
          item.append(svg("g", { class: "whisker" },
            svg("line", { x1: cx, x2: cx, y1: sy(bar.ci[0]), y2: sy(bar.ci[1]) }),
            svg("line", { x1: cx - 4, x2: cx + 4, y1: sy(bar.ci[0]), y2: sy(bar.ci[0]) }),
            svg("line", { x1: cx - 4, x2: cx + 4, y1: sy(bar.ci[1]), y2: sy(bar.ci[1]) })));
        }
        root.append(item);
      });
    });
    if (isNum(chance)) {
      root.append(svg("g", { class: "chance-line", "data-value": chance },
        svg("line", { x1: M.l, x2: W - M.r, y1: sy(chance), y2: sy(chance) }),
        svg("text", { x: W - M.r - 2, y: sy(chance) - 4, "text-anchor": "end" }, `chance ${fmt(chance)}`)));
    }
    return el("figure", { class: "plot", id },
      root,
      legend ? el("figcaption", { class: "series-legend" }, legend.map((name, k) =>
        el("span", null, el("span", { class: `swatch s${k % 8}` }), name))) : null);
  }

  /** Models × every metric (headline first, breakdowns after), plus provenance columns when rows are runs. */
  function metricTable(rows, headline, chance = null) {
    const names = [];
    for (const row of rows) for (const name of Object.keys(row.metrics)) if (!names.includes(name)) names.push(name);
    const columns = [modelColumn((r) => r.model)];
    for (const name of metricOrder(names, headline)) {
      columns.push({
        key: "m:" + name, label: name, num: true, best: true, cls: "score" + (name === headline ? " headline" : ""),
        value: (r) => (r.metrics[name] ? r.metrics[name].value : null),
        ci: (r) => (r.metrics[name] ? r.metrics[name].ci : null),
        cell: (r) => (r.metrics[name] ? scoreNode(r.metrics[name]) : "—"),
      });
    }
    if (rows.some((r) => r.run)) columns.push(...provenanceColumns((r) => r.run, false));
    return [sortableTable(columns, rows, {
      sort: { key: "m:" + headline, dir: -1 }, cls: "metrics",
      foot: chance ? (cols) => chanceRow(cols, (c) => (c.key === "m:" + headline ? chance : null)) : null,
    }), el("p", { class: "legend" }, BOLD_RULE)];
  }

  // ---------------------------------------------------------------------------------------------- diagnostics

  function viewDiagnostics() {
    add(el("h1", null, "Temporal diagnostics"),
      el("p", { class: "lede" },
        "Does a model use time? Multi-frame gain κ = (Acc(all frames) − Acc(1 frame)) / Acc(1 frame) × 100; " +
        "frame-order sensitivity τ = (Acc − Acc(shuffled)) / Acc(shuffled) × 100. A model near zero on both answers " +
        "from a single glance. Whiskers are 95% confidence intervals."));
    const list = DATA.diagnoses;
    if (!list.length) {
      add(el("p", { class: "empty" }, "No diagnosis results (diagnosis-<task>.json) were found beside the runs. " +
        "Run 'tempeval diagnose' on a multiple-choice task, then rebuild."));
      return;
    }
    const tasks = [...new Set(list.map((d) => d.task))].sort();
    const select = el("select", { id: "diag-task", "aria-label": "Task" }, tasks.map((t) => el("option", { value: t }, t)));
    const host = el("div");
    const draw = () => {
      const chosen = list.filter((d) => d.task === select.value);
      const point = (field) => chosen
        .filter((d) => d[field] && d.accuracy && isNum(d.accuracy.value))
        .map((d) => ({
          x: d[field].value, xci: d[field].ci, y: d.accuracy.value, yci: d.accuracy.ci, label: modelName(d.model),
          href: d.uniform && d.runs[d.uniform] ? route("run", d.runs[d.uniform]) : null,
        }));
      fill(host,
        el("div", { class: "plots" },
          scatter({ title: "Accuracy vs frame-order sensitivity τ", x: "τ (%)", y: "accuracy (%)", points: point("tau") }),
          scatter({ title: "Accuracy vs multi-frame gain κ", x: "κ (%)", y: "accuracy (%)", points: point("kappa") })),
        diagnosisTable(chosen));
    };
    select.addEventListener("change", draw);
    add(el("section", { class: "controls" }, el("label", null, "Task ", select)), host);
    draw();
  }

  function diagnosisTable(list) {
    const measure = (field, title) => ({
      key: field, label: title, num: true, value: (d) => (d[field] ? d[field].value : null),
      cell: (d) => (d[field] ? scoreNode(d[field]) : "—"),
    });
    // Variant roles as the diagnosis files name them (single-middle, shuffled, reversed, handpicked, ...).
    const roles = [...new Set(list.flatMap((d) => Object.keys(d.runs).filter((role) => role !== d.uniform)))];
    const variant = (role) => ({
      key: "acc-" + role, label: `Acc ${role}`, num: true, value: (d) => d.variant_accuracy[role],
      cell: (d) => (d.runs[role] ? el("a", { href: route("run", d.runs[role]) }, fmt(d.variant_accuracy[role]))
        : fmt(d.variant_accuracy[role])),
    });
    return sortableTable([
      modelColumn((d) => d.model),
      { key: "acc", label: "Accuracy", num: true, cls: "score", value: (d) => d.accuracy && d.accuracy.value,
        cell: (d) => (d.uniform && d.runs[d.uniform]
          ? el("a", { href: route("run", d.runs[d.uniform]) }, scoreNode(d.accuracy)) : scoreNode(d.accuracy)) },
      measure("kappa", "κ multi-frame gain"), measure("tau", "τ order sensitivity"), measure("rho", "ρ info disparity"),
      measure("reversal_drop", "Reversal drop"), measure("flip_rate", "Flip rate"), measure("pair_consistency", "Pair consistency"),
      ...roles.map(variant),
      { key: "file", label: "File", value: (d) => d.file, cell: (d) => el("code", { title: d.notes.join("\n") || null }, d.file) },
    ], list, { sort: { key: "acc", dir: -1 }, cls: "diag" });
  }

  function niceTicks(lo, hi, count) {
    const span = hi - lo || 1;
    const raw = span / count;
    const mag = Math.pow(10, Math.floor(Math.log10(raw)));
    const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => span / s <= count) || 10 * mag;
    const ticks = [];
    for (let t = Math.ceil(lo / step) * step; t <= hi + 1e-9; t += step) ticks.push(Math.round(t * 1e6) / 1e6);
    return ticks;
  }

  /** A label's baseline: moved down until its box (about 12 px tall) overlaps no label placed before. */
  function labelY(placed, x, y, width) {
    let top = y;
    const hits = (box) => x < box.x + box.w && box.x < x + width && Math.abs(box.y - top) < 12;
    while (placed.some(hits)) top += 12;
    placed.push({ x, y: top, w: width });
    return top;
  }

  /** An inline-SVG scatter with CI whiskers; labels and tooltips are SVG text nodes. */
  function scatter({ title, x, y, points }) {
    const W = 480, H = 340, M = { l: 52, r: 16, t: 30, b: 44 }, MIN_SPAN = 10;
    const figure = el("figure", { class: "plot" });
    const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, width: W, height: H, role: "img", "aria-label": title });
    root.append(svg("text", { x: M.l, y: 18, class: "plot-title" }, title));
    if (!points.length) {
      root.append(svg("text", { x: W / 2, y: H / 2, class: "plot-empty", "text-anchor": "middle" }, "no values"));
      figure.append(root);
      return figure;
    }
    const extent = (get, ci) => {
      const values = points.flatMap((p) => [get(p), ...(ci(p) || [])]).filter(isNum);
      const lo = Math.min(...values), hi = Math.max(...values);
      const widen = Math.max(0, MIN_SPAN - (hi - lo)) / 2;  // points all alike: still a readable axis
      const pad = (hi - lo + 2 * widen) * 0.08 + widen;
      return [lo - pad, hi + pad];
    };
    const [x0, x1] = extent((p) => p.x, (p) => p.xci);
    const [y0, y1] = extent((p) => p.y, (p) => p.yci);
    const sx = (v) => M.l + ((v - x0) / (x1 - x0)) * (W - M.l - M.r);
    const sy = (v) => H - M.b - ((v - y0) / (y1 - y0)) * (H - M.t - M.b);
    const axes = svg("g", { class: "axes" });
    for (const t of niceTicks(x0, x1, 6)) {
      axes.append(svg("line", { x1: sx(t), x2: sx(t), y1: M.t, y2: H - M.b, class: t === 0 ? "zero" : "gridline" }),
        svg("text", { x: sx(t), y: H - M.b + 14, "text-anchor": "middle" }, String(t)));
    }
    for (const t of niceTicks(y0, y1, 5)) {
      axes.append(svg("line", { x1: M.l, x2: W - M.r, y1: sy(t), y2: sy(t), class: "gridline" }),
        svg("text", { x: M.l - 6, y: sy(t) + 4, "text-anchor": "end" }, String(t)));
    }
    axes.append(
      svg("text", { x: (M.l + W - M.r) / 2, y: H - 8, "text-anchor": "middle", class: "axis-label" }, x),
      svg("text", {
        x: 14, y: (M.t + H - M.b) / 2, transform: `rotate(-90 14 ${(M.t + H - M.b) / 2})`,
        "text-anchor": "middle", class: "axis-label",
      }, y));
    root.append(axes);
    const placed = [];
    for (const p of [...points].sort((a, b) => b.y - a.y)) {
      const g = svg("g", { class: "point" });
      if (p.xci) g.append(svg("line", { x1: sx(p.xci[0]), x2: sx(p.xci[1]), y1: sy(p.y), y2: sy(p.y), class: "whisker" }));
      if (p.yci) g.append(svg("line", { x1: sx(p.x), x2: sx(p.x), y1: sy(p.yci[0]), y2: sy(p.yci[1]), class: "whisker" }));
      g.append(svg("circle", { cx: sx(p.x), cy: sy(p.y), r: 4.5 }),
        svg("text", { x: sx(p.x) + 7, y: labelY(placed, sx(p.x) + 7, sy(p.y) - 6, p.label.length * 6.2), class: "point-label" }, p.label),
        svg("title", null, `${p.label}: ${x} ${fmt(p.x)}, ${y} ${fmt(p.y)}`));
      root.append(p.href ? svg("a", { href: p.href }, g) : g);
    }
    figure.append(root);
    return figure;
  }

  // ---------------------------------------------------------------------------------------------- all runs

  function viewRuns() {
    add(el("h1", null, "All runs"),
      el("p", { class: "lede" }, "Every run file read for this site. Only current runs (the newest per model, task " +
        "and task version, at the task's newest version) count on the leaderboard; diagnostic variants " +
        "(shuffled, reversed, single-frame) feed the diagnostics view."));
    const search = el("input", { type: "search", placeholder: "Filter by model, task, status or file…", "aria-label": "Filter runs" });
    const host = el("div");
    const draw = () => {
      const query = search.value.trim().toLowerCase();
      const list = DATA.runs.filter((r) => !query ||
        [r.model, modelName(r.model), r.task, r.status, labelOf(STATUS_LABELS, r.status), r.file].join(" ").toLowerCase().includes(query));
      fill(host, runTable(list, { status: true }));
    };
    search.addEventListener("input", draw);
    add(el("section", { class: "controls" }, search), host);
    draw();
    if (DATA.skipped.length) {
      add(el("h2", null, "Files that could not be read"),
        el("ul", { class: "skipped" }, DATA.skipped.map((s) => el("li", null, el("code", null, s.file), ": ", s.reason))));
    }
  }

  // ---------------------------------------------------------------------------------------------- samples

  function viewRun(id) {
    const run = runs.get(id);
    if (!run || !/^r[0-9a-f]+$/.test(id)) return notFound(`No run '${id}' in this leaderboard.`);
    const bench = DATA.benchmarks.find((b) => b.tasks.includes(run.task));
    add(
      el("p", { class: "crumbs" }, el("a", { href: "#/" }, "Overview"), " / ",
        bench ? el("a", { href: route("b", bench.id) }, bench.label) : run.task, " / samples"),
      el("h1", null, `${modelName(run.model)} · ${run.task}`, " ", el("span", { class: "version" }, "v" + run.task_version),
        run.status !== "current" ? el("span", { class: "status" }, labelOf(STATUS_LABELS, run.status)) : null),
      runFacts(run),
      el("div", { class: "metric-chips" }, metricOrder(Object.keys(run.metrics), run.headline).map((name) =>
        el("span", { class: "metric-chip" + (name === run.headline ? " headline" : "") }, el("span", { class: "metric-name" }, name), " ",
          scoreNode(run.metrics[name])))));
    const host = el("div", { id: "samples" }, el("p", { class: "empty" }, "Loading samples…"));
    add(host);
    const store = window.TEMPEVAL_SAMPLES || {};
    if (store[id]) return sampleBrowser(host, run, samplesOf(store[id]));
    // file:// forbids fetch(); a script tag that assigns to a global works everywhere.
    const script = document.createElement("script");
    script.src = "samples/" + id + ".js";
    script.onload = () => {
      const loaded = (window.TEMPEVAL_SAMPLES || {})[id];
      if (loaded && location.hash === route("run", id)) sampleBrowser(host, run, samplesOf(loaded));
    };
    script.onerror = () => fill(host, el("p", { class: "warn" }, `Could not load samples/${id}.js; rebuild the site.`));
    document.head.append(script);
  }

  /** A samples file's columns ({fields, rows, cut}) as one object per sample. */
  function samplesOf(payload) {
    const samples = payload.rows.map((row) => {
      const sample = {};
      payload.fields.forEach((field, i) => { sample[field] = row[i]; });
      return sample;
    });
    for (const [index, length] of Object.entries(payload.cut || {})) samples[Number(index)].truncated = length;
    for (const [index, strip] of Object.entries(payload.strips || {})) samples[Number(index)].strip = strip;
    return samples;
  }

  function runFacts(run) {
    const m = models.get(run.model);
    const facts = [
      ["Model", (run.model_id || run.model) + (m && m.name !== (run.model_id || run.model) ? ` (row ${m.name})` : "")],
      ["Task", `${run.task} v${run.task_version} (${run.kind ? labelOf(KIND_LABELS, run.kind) : "?"})`],
      ["Frames", run.frames], ["Parser", run.parser_mode + (run.judge ? `, judge ${run.judge}` : "")],
      ["Samples", `${run.n} · errors ${run.errors} (${fmt(run.error_rate)}%) · ` +
        `unparseable ${run.unparseable} (${fmt(run.parse_failure_rate)}%)` +
        (run.truncated ? ` · cut by the token limit ${run.truncated}` : "")],
      ["Model args", JSON.stringify(run.model_args || {})], ["Generation", `${run.generation_label || "?"} ${JSON.stringify(run.generation || {})}`],
      ["Started", run.started_at || "—"], ["Run file", run.file],
      ...(run.merged_at ? [["Merged", `${run.merged_at} from ${run.shards.length} shard(s): ` +
        run.shards.map((id) => (runs.get(id) || { file: id }).file).join(", ")]] : []),
      ...(run.shard ? [["Shard", `${run.shard}` + (run.merged_into ? `, merged into ${(runs.get(run.merged_into) || {}).file}` : ", not merged yet")]] : []),
      ["Dataset", run.dataset_revision || "—"],
      ["tempeval", (run.tempeval_version || "?") + (run.git_commit ? " @ " + String(run.git_commit).slice(0, 10) : "")],
    ];
    if (run.partial) facts.push(["Limit", `first ${run.limit} samples only`]);
    if (run.complete === false) facts.push(["Status", `INCOMPLETE ${run.n}/${run.samples}: stopped before its last sample, never resumed`]);
    return el("dl", { class: "facts" }, facts.map(([k, v]) => [el("dt", null, k), el("dd", null, v)]));
  }

  function outcome(s) {
    if (s.error !== null && s.error !== undefined) return "error";
    if (s.parsed === false) return "unparseable";
    return isNum(s.score) && s.score >= 1 ? "right" : "wrong";
  }

  function sampleBrowser(host, run, samples) {
    const FILTERS = [
      ["all", "All"], ["wrong", "Wrong (incl. unparseable)"], ["unparseable", "Unparseable"], ["error", "Errors"],
      ["right", "Right"],
    ];
    const counts = {};
    for (const s of samples) counts[outcome(s)] = (counts[outcome(s)] || 0) + 1;
    const count = (key) => (key === "all" ? samples.length
      : key === "wrong" ? (counts.wrong || 0) + (counts.unparseable || 0) : counts[key] || 0);
    const search = el("input", {
      type: "search", id: "sample-search", placeholder: "Search question, options, output, id…", "aria-label": "Search samples",
    });
    const filter = el("select", { id: "sample-filter", "aria-label": "Show" },
      FILTERS.map(([key, label]) => el("option", { value: key }, `${label} (${count(key)})`)));
    const summary = el("span", { class: "muted", id: "sample-count" });
    const body = el("div");
    const pager = el("div", { class: "pager" });
    const haystack = samples.map((s) => [
      s.sample_id, s.question, ...(s.choices || []), s.output, valueText(s.answer), s.error, ...metaText(s.meta)]
      .filter((v) => v !== null && v !== undefined).join("\n").toLowerCase());
    let page = 0;

    function matches() {
      const query = search.value.trim().toLowerCase();
      const kind = filter.value;
      return samples.filter((s, i) => {
        const o = outcome(s);
        const kept = kind === "all" || o === kind || (kind === "wrong" && o === "unparseable");
        return kept && (!query || haystack[i].includes(query));
      });
    }

    function draw() {
      const list = matches();
      const pages = Math.max(1, Math.ceil(list.length / PAGE_SIZE));
      page = Math.min(page, pages - 1);
      const shown = list.slice(page * PAGE_SIZE, (page + 1) * PAGE_SIZE);
      summary.textContent = `${list.length} of ${samples.length} samples`;
      fill(body, el("table", { class: "grid samples" },
        el("thead", null, el("tr", null, SAMPLE_HEADERS.map((h) => el("th", null, h)))),
        el("tbody", null, shown.map((s) => sampleRow(s, run)))));
      if (!shown.length) body.append(el("p", { class: "empty" }, "No sample matches."));
      fill(pager,
        el("button", { type: "button", disabled: page === 0, onclick: () => { page--; draw(); } }, "← Previous"),
        el("span", null, ` page ${page + 1} of ${pages} `),
        el("button", { type: "button", disabled: page >= pages - 1, onclick: () => { page++; draw(); } }, "Next →"));
    }

    search.addEventListener("input", () => { page = 0; draw(); });
    filter.addEventListener("change", () => { page = 0; draw(); });
    fill(host, el("section", { class: "controls" }, search, filter, summary), body, pager);
    draw();
  }

  /** The sample's scalar meta fields (dimension, category, mode, ...) in small print. */
  function metaText(meta) {
    return Object.entries(meta || {})
      .filter(([key, value]) => !META_HIDDEN.has(key) && ["string", "number", "boolean"].includes(typeof value))
      .map(([key, value]) => `${key}: ${value}`);
  }

  function metaNode(meta) {
    const lines = metaText(meta);
    return lines.length ? el("div", { class: "meta" }, lines.map((line) => el("div", null, line))) : null;
  }

  /** The exact prompt text the model received (collapsed), or why the run file has none. */
  function promptNode(s, run) {
    if (typeof s.prompt !== "string") {
      return el("div", { class: "muted prompt-missing" }, `prompt not stored (run made by tempeval ${run.tempeval_version || "?"}, ` +
        "before records kept the prompt text)");
    }
    return el("details", { class: "prompt" }, el("summary", null, "Prompt sent to the model"), el("pre", null, s.prompt));
  }

  /** Small pictures of the frames the model saw, each with its time; or the note saying why there are none. */
  function stripNode(s) {
    const strip = s.strip;
    if (!strip) return null;
    if (!strip.files.length) return el("div", { class: "muted strip-note" }, strip.note);
    return el("div", { class: "strip" }, strip.files.map((file, i) => el("figure", null,
      el("img", { src: file, alt: `frame at ${fmt(strip.times[i], 2)} s`, loading: "lazy", height: 54 }),
      el("figcaption", null, fmt(strip.times[i]) + " s"))));
  }

  /** A [start, end] pair of numbers, or null. */
  function windowOf(value) {
    const flat = Array.isArray(value) && value.length === 1 && Array.isArray(value[0]) ? value[0] : value;
    return Array.isArray(flat) && flat.length === 2 && flat.every(isNum) && flat[0] <= flat[1] ? flat : null;
  }

  /** Grounding: the target and predicted windows on the video's timeline (SVG). */
  function timelineNode(s) {
    const target = windowOf(s.target), predicted = windowOf(s.answer);
    if (!target) return null;
    const end = Math.max(isNum(s.duration_s) ? s.duration_s : 0, target[1], predicted ? predicted[1] : 0, ...(s.frame_times || [])) || 1;
    const W = 180, sx = (t) => (W * t) / end;
    const bar = (w, y, cls, label) => svg("rect", { x: sx(w[0]), y, width: Math.max(sx(w[1]) - sx(w[0]), 1), height: 8, class: cls },
      svg("title", null, `${label} ${fmt(w[0], 2)}–${fmt(w[1], 2)} s`));
    return el("div", { class: "timeline" },
      svg("svg", { width: W, height: 24, viewBox: `0 0 ${W} 24`, role: "img", "aria-label": "target and predicted windows" },
        svg("rect", { x: 0, y: 0, width: W, height: 24, class: "tl-track" }),
        bar(target, 2, "tl-target", "target"),
        predicted ? bar(predicted, 14, "tl-pred", "predicted") : null),
      el("div", { class: "muted tl-legend" }, `target ${fmt(target[0])}–${fmt(target[1])} s · ` +
        (predicted ? `predicted ${fmt(predicted[0])}–${fmt(predicted[1])} s` : "no predicted window") + ` · of ${fmt(end)} s`));
  }

  /** Streaming: the stream's timeline (SVG): due windows, query times, frames delivered or dropped, the events
   * the model answered (polls), its responses, and each answer's delay. */
  function streamTimelineNode(s) {
    const v = s.stream_view;
    if (!v) return null;
    const times = [...v.frames, ...v.dropped, ...v.polls, ...v.responses.map((r) => r[0]),
      ...v.queries.map((q) => q[1]), ...v.windows.map((w) => w[2])].filter(isNum);
    const end = Math.max(isNum(s.duration_s) ? s.duration_s : 0, ...times) || 1;
    const W = 360, H = 58, sx = (t) => (W * t) / end;
    const title = (text) => svg("title", null, text);
    const marks = [svg("rect", { x: 0, y: 0, width: W, height: H, class: "tl-track" })];
    for (const [id, start, stop, answered, delay] of v.windows) {
      marks.push(svg("rect", { x: sx(start), y: 2, width: Math.max(sx(stop) - sx(start), 2), height: 10, class: "st-window" },
        title(`[${id}] due ${fmt(start, 2)}–${fmt(stop, 2)} s` + (isNum(answered) ? `, answered at ${fmt(answered, 2)} s (delay ${fmt(delay, 2)} s)` : ", unanswered"))));
    }
    for (const [id, at] of v.queries) {
      marks.push(svg("line", { x1: sx(at), x2: sx(at), y1: 14, y2: 24, class: "st-query" }, title(`[${id}] asked at ${fmt(at, 2)} s`)));
    }
    for (const t of v.frames) marks.push(svg("rect", { x: sx(t), y: 27, width: 1, height: 6, class: "st-frame" }, title(`frame ${fmt(t, 2)} s`)));
    for (const t of v.dropped) marks.push(svg("rect", { x: sx(t), y: 27, width: 1, height: 6, class: "st-dropped" }, title(`frame ${fmt(t, 2)} s dropped (busy)`)));
    for (const t of v.polls) marks.push(svg("rect", { x: sx(t), y: 36, width: 1, height: 5, class: "st-poll" }, title(`answered an event at ${fmt(t, 2)} s`)));
    for (const [t, id, text] of v.responses) {
      marks.push(svg("circle", { cx: sx(t), cy: 50, r: 3, class: "st-response" }, title(`${fmt(t, 2)} s [${id || "-"}] ${text}`)));
    }
    for (const [t, message] of v.errors) marks.push(svg("circle", { cx: sx(t), cy: 50, r: 3, class: "st-error" }, title(`${fmt(t, 2)} s error: ${message}`)));
    const delays = [...v.windows.filter((w) => isNum(w[3])).map((w) => `${w[0]} +${fmt(w[4], 2)} s`),
      ...v.answers.filter((a) => isNum(a[1])).map((a) => `${a[0]} +${fmt(a[2], 2)} s`)];
    const unanswered = v.windows.filter((w) => !isNum(w[3])).length + v.answers.filter((a) => !isNum(a[1])).length;
    return el("div", { class: "timeline stream-timeline" },
      svg("svg", { width: W, height: H, viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": "stream timeline" }, ...marks),
      el("div", { class: "muted tl-legend" },
        `${plural(v.frames.length, "frame")} delivered` + (v.dropped.length ? `, ${v.dropped.length} dropped` : "") +
        ` · ${plural(v.polls.length, v.polled ? "poll" : "event")} answered · ${plural(v.responses.length, "response")}` +
        ` · of ${fmt(end)} s`),
      el("div", { class: "muted st-delays" }, delays.length ? "delays: " + delays.join(", ") : "no answer",
        unanswered ? ` · ${unanswered} unanswered` : ""));
  }

  function sampleRow(s, run) {
    const o = outcome(s);
    const letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    const options = (s.choices || []).map((choice, i) => el("li", {
      class: (letters[i] === s.target ? "gold" : "") + (letters[i] === s.answer ? " picked" : ""),
    }, el("b", null, letters[i] + ". "), String(choice)));
    const times = s.frame_times || [];
    const result = o === "error" ? el("span", { class: "badge error", title: String(s.error) }, "error")
      : o === "unparseable" ? el("span", { class: "badge unparseable", title: s.note || "" }, "unparseable")
      : isNum(s.score) && s.score !== 0 && s.score !== 1
        ? el("span", { class: "badge partial-score", title: s.note || "" }, s.score.toFixed(2))
      : el("span", { class: "badge " + o, title: s.note || "" }, o === "right" ? "✓ right" : "✗ wrong");
    return el("tr", { class: "o-" + o, "data-sample": s.sample_id },
      el("td", { class: "sid" }, el("code", null, s.sample_id), metaNode(s.meta)),
      el("td", { class: "question" }, el("div", null, s.question || ""), options.length ? el("ol", { class: "options" }, options) : null,
        promptNode(s, run)),
      el("td", null, s.stream_view ? `${(s.target || []).length} ${(s.target || []).length === 1 ? "query" : "queries"}` : valueText(s.target)),
      el("td", { class: "output" }, o === "error"
        ? el("pre", { class: "error-text" }, String(s.error))
        : el("pre", null, s.output === null || s.output === undefined ? "" : String(s.output)),
        s.truncated ? el("span", { class: "muted" }, `(cut; ${s.truncated} characters in the run file)`) : null),
      el("td", null, s.stream_view ? "see the timeline" : valueText(s.answer)),
      el("td", null, result, s.note ? el("div", { class: "note" }, s.note) : null,
        s.stream_view ? streamTimelineNode(s) : timelineNode(s)),
      el("td", { class: "times", title: times.join(", ") },
        times.length ? `${times.length}: ` + times.map((t) => fmt(t)).join(" ") : "—",
        isNum(s.query_time_s) ? el("div", { class: "muted" }, `asked at ${fmt(s.query_time_s)} s`) : null,
        stripNode(s)));
  }

  // ---------------------------------------------------------------------------------------------- shell

  function notFound(message) {
    add(el("h1", null, "Not found"), el("p", null, message, " ", el("a", { href: "#/" }, "Back to the overview")));
  }

  function footer() {
    fill(document.getElementById("foot"),
      el("span", null,
        `${plural(DATA.models.length, "model")} · ${plural(DATA.benchmarks.length, "benchmark")} · ` +
        `${plural(DATA.runs.length, "run")}` +
        (DATA.data_as_of ? ` · newest run ${DATA.data_as_of.slice(0, 10)}` : "")),
      el("span", null, "Download: ", el("a", { href: "data.json", download: "" }, "data.json"), " · ",
        el("a", { href: "overview.csv", download: "" }, "overview.csv")),
      el("span", { class: "muted" }, "Built by tempeval from result files only."));
  }

  function render() {
    const hash = location.hash.replace(/^#\/?/, "");
    const [view, ...rest] = hash.split("/");
    let arg = null;
    try { arg = rest.length ? decodeURIComponent(rest.join("/")) : null; } catch (e) { arg = rest.join("/"); }
    app.replaceChildren();
    for (const link of document.querySelectorAll("#nav a")) {
      link.classList.toggle("active", link.getAttribute("data-view") === (view === "b" ? "" : view));
    }
    if (!view) viewOverview();
    else if (view === "b") viewBenchmark(arg);
    else if (view === "diagnostics") viewDiagnostics();
    else if (view === "runs") viewRuns();
    else if (view === "run") viewRun(arg);
    else notFound(`No page '${hash}'.`);
    document.title = "tempeval leaderboard" + (view ? " · " + (arg || view) : "");
  }

  window.addEventListener("hashchange", () => { render(); window.scrollTo(0, 0); });
  footer();
  render();
})();
