/* abm report: pages, searches, filters and sorts the embedded flags; draws only the current page.
   Every value reaches the page through textContent / setAttribute, never as markup. */
(function () {
  "use strict";
  var RAW = JSON.parse(document.getElementById("abm-data").textContent);
  var S = RAW.s, M = RAW.m, PAGE = 20, SVGNS = "http://www.w3.org/2000/svg";
  var SEV = ["critical", "high", "medium", "low"];
  var GAPS = ["no_decision_maker", "hidden_key_person", "single_threaded"];
  var LEVELS = ["person", "department", "account"];

  function str(i) { return i === null || i === undefined ? "" : S[i]; }
  function strs(list) { return (list || []).map(str); }
  function t(key, values) {
    var text = M[key] === undefined ? key : String(M[key]);
    Object.keys(values || {}).forEach(function (k) { text = text.split("{" + k + "}").join(String(values[k])); });
    return text;
  }
  function label(group, code) { return (M[group] && M[group][code]) || code || ""; }
  function objects(rows, fields) {
    return rows.map(function (row) { var o = {}; fields.forEach(function (f, i) { o[f] = row[i]; }); return o; });
  }
  function norm(s) { return (s || "").normalize("NFKC").toLowerCase(); }
  function fmtAmount(v) { return v ? "¥" + Math.round(v).toLocaleString("ja-JP") : ""; }

  var A = objects(RAW.a, RAW.fields.a), P = objects(RAW.p, RAW.fields.p);
  var C = objects(RAW.c, RAW.fields.c), G = objects(RAW.g, RAW.fields.g), R = objects(RAW.r, RAW.fields.r);
  A.forEach(function (a, i) { a.idx = i; a.c = []; a.g = []; a.p = []; });
  P.forEach(function (p, i) { p.idx = i; A[p.account].p.push(p); });
  C.forEach(function (c) { c.kind = "c"; A[c.account].c.push(c); });
  G.forEach(function (g) { g.kind = "g"; A[g.account].g.push(g); });

  // ---------- DOM helpers ----------
  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") node.textContent = attrs[k]; else if (k === "cls") node.className = attrs[k];
      else node.setAttribute(k, attrs[k]);
    });
    (children || []).forEach(function (c) { if (c) node.appendChild(typeof c === "string" ? document.createTextNode(c) : c); });
    return node;
  }
  function svg(tag, attrs, text) {
    var node = document.createElementNS(SVGNS, tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined) node.textContent = text;
    return node;
  }
  function badge(cls, text) { return el("span", { cls: "badge " + cls, text: text }); }
  function chips(values, cls) {
    var span = el("span");
    values.forEach(function (v) { span.appendChild(el("span", { cls: "chip " + (cls || ""), text: v })); });
    return span;
  }
  function option(select, value, text) { select.appendChild(el("option", { value: value, text: text })); }

  // ---------- search index and filters ----------
  function personText(p) { return p ? [str(p.name), str(p.department), str(p.title), str(p.id)].join(" ") : ""; }
  A.forEach(function (a) {
    var parts = [str(a.name), str(a.id), str(a.prefecture), str(a.corporate_number)].concat(strs(a.domains));
    a.p.forEach(function (p) { parts.push(personText(p), strs(p.owners).join(" "), strs(p.known_by).join(" ")); });
    a.c.forEach(function (c) { parts.push(str(c.department), strs(c.our_departments).join(" "), strs(c.our_people).join(" "), str(c.flag_id), strs(c.products).join(" ")); });
    a.g.forEach(function (g) { parts.push(str(g.department), strs(g.holder_people).join(" "), strs(g.holder_departments).join(" "), str(g.flag_id)); });
    a.hay = norm(parts.join("\n"));
  });
  var ourDepts = {};
  C.forEach(function (c) { strs(c.our_departments).forEach(function (d) { ourDepts[d] = true; }); });
  G.forEach(function (g) { strs(g.engaged_by).concat(strs(g.holder_departments)).forEach(function (d) { ourDepts[d] = true; }); });
  var deptNames = Object.keys(ourDepts).sort(function (x, y) { return x.localeCompare(y, "ja"); });

  var $ = function (id) { return document.getElementById(id); };
  var state = { q: "", kind: "", severity: "", level: "", gap: "", status: "", dept: "", sort: "urgency", page: 0 };

  function fill(id, values, labeller) {
    var s = $(id);
    option(s, "", t("all"));
    values.forEach(function (v) { option(s, v, labeller ? labeller(v) : v); });
  }
  fill("f-kind", ["c", "g"], function (v) { return v === "c" ? t("only_collisions") : t("only_gaps"); });
  fill("f-severity", SEV, function (v) { return label("severity", v); });
  fill("f-level", LEVELS, function (v) { return label("level", v); });
  fill("f-gap", GAPS, function (v) { return label("gap_type", v); });
  fill("f-status", ["new", "ongoing"], function (v) { return label("status", v); });
  fill("f-dept", deptNames);
  ["urgency", "amount", "first_seen", "flags", "name"].forEach(function (v) { option($("sort"), v, t("sort_" + v)); });

  function flagPasses(f) {
    if (state.kind && f.kind !== state.kind) return false;
    if (state.status && str(f.status) !== state.status) return false;
    if (f.kind === "c") {
      if (state.gap) return false;
      if (state.severity && str(f.severity) !== state.severity) return false;
      if (state.level && str(f.level) !== state.level) return false;
      if (state.dept && strs(f.our_departments).indexOf(state.dept) < 0) return false;
    } else {
      if (state.severity || state.level) return false;
      if (state.gap && str(f.gap_type) !== state.gap) return false;
      if (state.dept && strs(f.engaged_by).concat(strs(f.holder_departments)).indexOf(state.dept) < 0) return false;
    }
    return true;
  }
  var SORTS = {
    urgency: function (x, y) { return x.idx - y.idx; },
    amount: function (x, y) { return (y.amount || 0) - (x.amount || 0) || x.idx - y.idx; },
    first_seen: function (x, y) { return str(y.first_seen).localeCompare(str(x.first_seen)) || x.idx - y.idx; },
    flags: function (x, y) { return (y.n_collisions + y.n_gaps) - (x.n_collisions + x.n_gaps) || x.idx - y.idx; },
    name: function (x, y) { return str(x.name).localeCompare(str(y.name), "ja") || x.idx - y.idx; }
  };
  var current = [];
  function apply() {
    var terms = norm(state.q).split(/\s+/).filter(Boolean);
    current = [];
    var nflags = 0;
    A.forEach(function (a) {
      for (var i = 0; i < terms.length; i++) if (a.hay.indexOf(terms[i]) < 0) return;
      var shown = a.c.concat(a.g).filter(flagPasses);
      if (!shown.length) return;
      nflags += shown.length;
      current.push({ a: a, flags: shown });
    });
    current.sort(function (x, y) { return SORTS[state.sort](x.a, y.a); });
    $("count").textContent = current.length ? t("results", { n: current.length.toLocaleString(), f: nflags.toLocaleString() }) : t("no_results");
    render();
  }

  // ---------- cards ----------
  function personLabel(p) {
    if (!p) return "";
    var bits = [str(p.name)];
    if (p.title !== null) bits.push(str(p.title));
    return bits.join("　");
  }
  function row(dl, key, value) {
    if (!value || (value.textContent !== undefined && !value.textContent)) return;
    dl.appendChild(el("dt", { text: t(key) }));
    dl.appendChild(el("dd", {}, [value]));
  }
  function collisionItem(c) {
    var tags = el("div", { cls: "tags" }, [badge("sev-" + str(c.severity), label("severity", str(c.severity))),
      badge("lvl", label("level", str(c.level))), badge("st-" + str(c.status), label("status", str(c.status)))]);
    var dl = el("dl");
    var person = c.person === null ? null : P[c.person];
    var who = [person ? personLabel(person) : "", str(c.department)].filter(Boolean).join(" / ");
    row(dl, "counterpart", el("span", { cls: "who", text: who || label("level", "account") }));
    row(dl, "our_departments", chips(strs(c.our_departments), "ours"));
    row(dl, "our_people", document.createTextNode(strs(c.our_people).join("、")));
    row(dl, "since", document.createTextNode(str(c.first_seen)));
    row(dl, "window", document.createTextNode(str(c.window_start) + " – " + str(c.window_end) + (c.n_touches ? "（" + t("touches") + " " + c.n_touches + "）" : "")));
    if (c.open_opportunities || c.amount) {
      var opp = [c.open_opportunities ? String(c.open_opportunities) : "", fmtAmount(c.amount)].filter(Boolean).join(" · ");
      row(dl, "open_opportunities", document.createTextNode(opp));
    }
    row(dl, "product", document.createTextNode(strs(c.products).join("、")));
    row(dl, "stage", document.createTextNode(strs(c.stages).join("、")));
    row(dl, "explain_hint", el("span", { cls: "mono", text: [str(c.flag_id)].concat(strs(c.evidence)).filter(Boolean).join("  ") + (c.n_evidence > (c.evidence || []).length ? " …(" + c.n_evidence + ")" : "") }));
    return el("li", { cls: "flag" }, [tags, dl]);
  }
  function gapItem(g) {
    var tags = el("div", { cls: "tags" }, [badge("gap", label("gap_type", str(g.gap_type))), badge("st-" + str(g.status), label("status", str(g.status)))]);
    var dl = el("dl");
    var person = g.person === null ? null : P[g.person];
    row(dl, "counterpart", el("span", { cls: "who", text: [person ? personLabel(person) : "", str(g.department)].filter(Boolean).join(" / ") }));
    row(dl, "engaged_by", chips(strs(g.engaged_by), "ours"));
    var holders = strs(g.holder_departments).concat(strs(g.holder_people));
    row(dl, "holder", holders.length ? chips(holders) : null);
    row(dl, "n_people", document.createTextNode(g.n_people === null ? "" : String(g.n_people)));
    row(dl, "since", document.createTextNode(str(g.first_seen)));
    row(dl, "explain_hint", el("span", { cls: "mono", text: [str(g.flag_id)].concat(strs(g.evidence)).filter(Boolean).join("  ") + (g.n_evidence > (g.evidence || []).length ? " …(" + g.n_evidence + ")" : "") }));
    return el("li", { cls: "flag" }, [tags, dl]);
  }
  function card(entry) {
    var a = entry.a, top = a.rank;
    var head = el("div", { cls: "card-head" }, [
      top < 4 ? badge("sev-" + SEV[top], label("severity", SEV[top])) : badge("gap", t("gaps")),
      a.new ? badge("st-new", label("status", "new")) : null,
      el("h3", { text: str(a.name) }),
      a.same_name ? el("span", { cls: "warn", text: t("same_name") }) : null,
      str(a.registry_status) ? el("span", { cls: "warn registry-" + str(a.registry_status), text: label("registry_status", str(a.registry_status)) }) : null
    ]);
    var ids = el("div", { cls: "ids" });
    [["prefecture", str(a.prefecture)], ["corporate_number", str(a.corporate_number)], ["domain", strs(a.domains).join(", ")],
     ["successor", str(a.successor)], ["account_id", str(a.id)]].forEach(function (kv) {
      if (kv[1]) ids.appendChild(el("span", {}, [t(kv[0]) + ": ", el("span", { cls: kv[0] === "prefecture" ? "" : "mono", text: kv[1] })]));
    });
    if (a.amount) ids.appendChild(el("span", { text: t("open_opportunities") + ": " + fmtAmount(a.amount) }));
    var node = el("article", { cls: "card r" + top, "data-account": str(a.id) }, [head, ids]);
    var cs = entry.flags.filter(function (f) { return f.kind === "c"; }), gs = entry.flags.filter(function (f) { return f.kind === "g"; });
    if (cs.length) { node.appendChild(el("p", { cls: "sect", text: t("collisions") + " " + cs.length })); node.appendChild(el("ul", { cls: "flags" }, cs.map(collisionItem))); }
    if (gs.length) { node.appendChild(el("p", { cls: "sect", text: t("gaps") + " " + gs.length })); node.appendChild(el("ul", { cls: "flags" }, gs.map(gapItem))); }
    var hidden = a.c.length + a.g.length - entry.flags.length;
    if (hidden > 0) node.appendChild(el("p", { cls: "muted small", text: t("flags_hidden", { n: hidden }) }));
    [["ladder", ladder], ["committee", committee]].forEach(function (pair) {
      var d = el("details", { cls: "more" }, [el("summary", { text: t(pair[0]) })]);
      d.addEventListener("toggle", function () { if (d.open && d.childNodes.length === 1) d.appendChild(pair[1](a)); });
      node.appendChild(d);
    });
    return node;
  }

  // ---------- ladder: 企業 → 社長 → 担当役員 → 部長 → 個人 ----------
  var RUNGS = [["rung_president", 9, 9], ["rung_executive", 7, 8], ["rung_head", 5, 6], ["rung_person", 0, 4]];
  function knownBy(p) {
    var ours = strs(p.known_by).concat(strs(p.owners));
    return ours.length ? t("known_by") + ": " + ours.join("、") : t("nobody_knows");
  }
  function ladder(a) {
    var list = el("ul", { cls: "ladder" });
    var ours = {};
    a.c.forEach(function (c) { strs(c.our_departments).forEach(function (d) { ours[d] = true; }); });
    a.p.forEach(function (p) { strs(p.known_by).forEach(function (d) { ours[d] = true; }); });
    list.appendChild(el("li", {}, [el("span", { cls: "rung", text: t("rung_company") }),
      el("span", {}, [el("strong", { text: str(a.name) }), " ", chips(Object.keys(ours), "ours")])]));
    var hiddenPeople = {}, noDm = [];
    a.g.forEach(function (g) {
      if (str(g.gap_type) === "hidden_key_person" && g.person !== null) hiddenPeople[g.person] = true;
      if (str(g.gap_type) === "no_decision_maker") noDm.push(str(g.department) || t("unknown"));
    });
    RUNGS.forEach(function (rung) {
      var people = a.p.filter(function (p) { return p.rank !== null && p.rank >= rung[1] && p.rank <= rung[2]; });
      var cell = el("span");
      if (!people.length) cell.appendChild(el("span", { cls: "missing", text: t("rung_missing") }));
      people.slice(0, 8).forEach(function (p) {
        var line = el("div", {}, [el("strong", { text: personLabel(p) }), " ", el("span", { cls: "muted", text: str(p.department) }), " — ", el("span", { cls: strs(p.known_by).length ? "" : "missing", text: knownBy(p) })]);
        if (hiddenPeople[p.idx]) line.appendChild(el("span", { cls: "warn", text: " " + t("hidden_flag") }));
        cell.appendChild(line);
      });
      if (people.length > 8) cell.appendChild(el("div", { cls: "muted", text: t("committee_more", { n: people.length - 8 }) }));
      if (rung[0] === "rung_head" && noDm.length) cell.appendChild(el("div", {}, [badge("gap", label("gap_type", "no_decision_maker")), " " + noDm.join("、")]));
      list.appendChild(el("li", {}, [el("span", { cls: "rung", text: t(rung[0]) }), cell]));
    });
    return list;
  }

  // ---------- buying committee: our departments → their departments' persons by rank ----------
  var RANK_COLORS = [[7, "#4b2a86"], [5, "#1769aa"], [3, "#2f8f6a"], [0, "#8c9aa8"]];
  function rankColor(r) { for (var i = 0; i < RANK_COLORS.length; i++) if ((r || 0) >= RANK_COLORS[i][0]) return RANK_COLORS[i][1]; return "#8c9aa8"; }
  function committee(a) {
    var byDept = {}, order = [];
    a.p.forEach(function (p) { var d = str(p.department) || "—"; if (!byDept[d]) { byDept[d] = []; order.push(d); } byDept[d].push(p); });
    order.sort(function (x, y) { return byDept[y].length - byDept[x].length || x.localeCompare(y, "ja"); });
    var depts = order.slice(0, 10), perDept = 6, rowH = 24, W = 760, leftX = 10, leftW = 170, rightX = 360;
    var ours = [];
    depts.forEach(function (d) { byDept[d].slice(0, perDept).forEach(function (p) { strs(p.known_by).forEach(function (o) { if (ours.indexOf(o) < 0) ours.push(o); }); }); });
    var y = 8, nodes = [];
    var g = svg("g");
    depts.forEach(function (d) {
      var people = byDept[d].slice().sort(function (x, z) { return (z.rank || 0) - (x.rank || 0); });
      g.appendChild(svg("text", { x: rightX, y: y + 14, "font-size": 12, "font-weight": 700, fill: "#1f2933" }, d.length > 30 ? d.slice(0, 29) + "…" : d));
      y += rowH;
      people.slice(0, perDept).forEach(function (p) {
        nodes.push([p, y]);
        y += rowH;
      });
      if (people.length > perDept) { g.appendChild(svg("text", { x: rightX + 16, y: y + 12, "font-size": 11, fill: "#616e7c" }, t("committee_more", { n: people.length - perDept }))); y += rowH - 6; }
      y += 6;
    });
    var H = Math.max(y, ours.length * 30 + 16) + 4;
    var root = svg("svg", { viewBox: "0 0 " + W + " " + H, "class": "committee", role: "img", "aria-label": t("committee") });
    root.appendChild(svg("title", {}, t("committee_legend")));
    var oursY = {};
    var step = ours.length ? Math.min(34, (H - 16) / ours.length) : 0;
    ours.forEach(function (o, i) { oursY[o] = 8 + i * step; });
    var lines = svg("g");
    nodes.forEach(function (n) {
      strs(n[0].known_by).forEach(function (o) {
        var y1 = oursY[o] + 13, y2 = n[1] + 11;
        lines.appendChild(svg("path", { d: "M" + (leftX + leftW) + "," + y1 + " C" + (leftX + leftW + 80) + "," + y1 + " " + (rightX - 60) + "," + y2 + " " + (rightX + 10) + "," + y2, fill: "none", stroke: "#9fb3c8", "stroke-width": 1.3 }));
      });
    });
    root.appendChild(lines);
    ours.forEach(function (o) {
      root.appendChild(svg("rect", { x: leftX, y: oursY[o], width: leftW, height: 26, rx: 5, fill: "#e3ecf7", stroke: "#9fb3c8" }));
      root.appendChild(svg("text", { x: leftX + 8, y: oursY[o] + 17, "font-size": 12, fill: "#123a63" }, o.length > 14 ? o.slice(0, 13) + "…" : o));
    });
    root.appendChild(g);
    nodes.forEach(function (n) {
      var p = n[0], known = strs(p.known_by).length > 0;
      root.appendChild(svg("rect", { x: rightX + 10, y: n[1], width: W - rightX - 20, height: 21, rx: 4, fill: known ? "#fff" : "#fdf2f2", stroke: rankColor(p.rank), "stroke-width": 1.5 }));
      root.appendChild(svg("rect", { x: rightX + 10, y: n[1], width: 6, height: 21, rx: 2, fill: rankColor(p.rank) }));
      root.appendChild(svg("text", { x: rightX + 22, y: n[1] + 15, "font-size": 12, fill: "#1f2933" }, personLabel(p)));
    });
    var box = el("div", {}, [el("p", { cls: "muted small", text: t("committee_legend") }), root]);
    return box;
  }

  // ---------- pager ----------
  function pager(id) {
    var box = $(id); box.textContent = "";
    var pages = Math.max(1, Math.ceil(current.length / PAGE));
    var prev = el("button", { type: "button", text: "‹ " + t("prev") }), next = el("button", { type: "button", text: t("next") + " ›" });
    if (state.page <= 0) prev.setAttribute("disabled", "");
    if (state.page >= pages - 1) next.setAttribute("disabled", "");
    prev.addEventListener("click", function () { go(state.page - 1); });
    next.addEventListener("click", function () { go(state.page + 1); });
    box.appendChild(prev); box.appendChild(el("span", { cls: "page-label", text: t("page", { p: state.page + 1, n: pages }) })); box.appendChild(next);
  }
  function go(page) { state.page = page; render(); $("accounts").scrollIntoView(); }
  function render() {
    var pages = Math.max(1, Math.ceil(current.length / PAGE));
    if (state.page >= pages) state.page = pages - 1;
    var box = $("cards"); box.textContent = "";
    var frag = document.createDocumentFragment();
    current.slice(state.page * PAGE, state.page * PAGE + PAGE).forEach(function (e) { frag.appendChild(card(e)); });
    box.appendChild(frag);
    pager("pager-top"); pager("pager-bottom");
  }

  // ---------- department view ----------
  function departments() {
    var box = $("depts"), stats = {};
    deptNames.forEach(function (d) { stats[d] = { n: 0, sev: [0, 0, 0, 0], accounts: {}, partners: {}, gaps: 0 }; });
    C.forEach(function (c) {
      var ds = strs(c.our_departments), si = SEV.indexOf(str(c.severity));
      ds.forEach(function (d) {
        var s = stats[d]; s.n++; if (si >= 0) s.sev[si]++; s.accounts[c.account] = true;
        ds.forEach(function (o) { if (o !== d) s.partners[o] = (s.partners[o] || 0) + 1; });
      });
    });
    G.forEach(function (g) { strs(g.engaged_by).forEach(function (d) { stats[d].gaps++; }); });
    deptNames.slice().sort(function (x, y) { return stats[y].n - stats[x].n || x.localeCompare(y, "ja"); }).forEach(function (d) {
      var s = stats[d], accts = Object.keys(s.accounts).map(Number).sort(function (x, y) { return x - y; });
      var bars = el("div", { cls: "bars" });
      s.sev.forEach(function (n, i) { if (n) bars.appendChild(el("span", { cls: "sev-" + SEV[i], style: "width:" + (100 * n / Math.max(s.n, 1)).toFixed(1) + "%", title: label("severity", SEV[i]) + " " + n })); });
      var partners = Object.keys(s.partners).sort(function (x, y) { return s.partners[y] - s.partners[x]; })
        .map(function (o) { return o + " ×" + s.partners[o]; });
      var names = accts.slice(0, 8).map(function (i) { return str(A[i].name); });
      var button = el("button", { type: "button", cls: "linkbtn", text: t("show_accounts") });
      button.addEventListener("click", function () { setFilter("dept", d); });
      box.appendChild(el("div", { cls: "dept" }, [
        el("h3", { text: d }),
        el("div", { cls: "muted small", text: t("collisions") + " " + s.n.toLocaleString() + " · " + t("dept_accounts") + " " + accts.length.toLocaleString() + " · " + t("gaps") + " " + s.gaps.toLocaleString() }),
        bars,
        el("div", {}, [el("span", { cls: "small muted", text: t("dept_collides_with") + ": " }), chips(partners, "ours")]),
        el("div", { cls: "small" }, [el("span", { cls: "muted", text: t("dept_accounts") + ": " }), names.join("、") + (accts.length > names.length ? " …" : "")]),
        button
      ]));
    });
  }

  // ---------- since the previous run ----------
  function changes() {
    var box = $("changes-body");
    var newC = C.filter(function (c) { return str(c.status) === "new"; }).length, newG = G.filter(function (g) { return str(g.status) === "new"; }).length;
    var show = el("button", { type: "button", cls: "linkbtn", text: t("new_list") + ": " + t("collisions") + " " + newC + " · " + t("gaps") + " " + newG });
    show.addEventListener("click", function () { setFilter("status", "new"); });
    box.appendChild(el("p", {}, [show]));
    box.appendChild(el("h3", { text: t("resolved_list") + " (" + R.length.toLocaleString() + ")" }));
    if (!R.length) { box.appendChild(el("p", { cls: "muted", text: t("none") })); return; }
    var table = el("table", { cls: "list" }, [el("thead", {}, [el("tr", {}, [t("accounts"), t("filter_level") + " / " + t("filter_gap_type"), t("counterpart"), "ID"].map(function (h) { return el("th", { text: h }); }))])]);
    var body = el("tbody"); table.appendChild(body);
    var shown = 0;
    function more() {
      R.slice(shown, shown + 100).forEach(function (r) {
        var type = str(r.flag_type);
        body.appendChild(el("tr", {}, [el("td", { text: str(r.account_name) || str(r.account_id) }), el("td", { text: label("level", type) !== type ? label("level", type) : label("gap_type", type) }), el("td", { text: str(r.department) }), el("td", { cls: "mono", text: str(r.flag_id) + " " + str(r.account_id) })]));
      });
      shown += 100;
      if (shown >= R.length && moreBtn.parentNode) moreBtn.parentNode.removeChild(moreBtn);
    }
    var moreBtn = el("button", { type: "button", cls: "linkbtn", text: t("next") + " ›" });
    moreBtn.addEventListener("click", more);
    box.appendChild(table); box.appendChild(moreBtn);
    more();
  }

  // ---------- wiring ----------
  var CONTROLS = { q: "q", kind: "f-kind", severity: "f-severity", level: "f-level", gap: "f-gap", status: "f-status", dept: "f-dept", sort: "sort" };
  function setFilter(key, value) {
    state[key] = value; $(CONTROLS[key]).value = value; state.page = 0; apply();
    $("accounts").scrollIntoView();
  }
  var timer = null;
  Object.keys(CONTROLS).forEach(function (key) {
    var node = $(CONTROLS[key]);
    node.addEventListener(key === "q" ? "input" : "change", function () {
      clearTimeout(timer);
      timer = setTimeout(function () { state[key] = node.value; state.page = 0; apply(); }, key === "q" ? 120 : 0);
    });
  });
  $("reset").addEventListener("click", function () {
    Object.keys(CONTROLS).forEach(function (key) { state[key] = key === "sort" ? "urgency" : ""; $(CONTROLS[key]).value = state[key]; });
    state.page = 0; apply();
  });
  apply();
  departments();
  changes();
})();
