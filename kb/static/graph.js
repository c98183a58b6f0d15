/* kb: the whole graph on a canvas. Positions come precomputed from the build; a short,
   deterministic force pass (spatial grid, fixed number of steps) tidies them while drawing. */
(function () {
  "use strict";

  var NODE_FILL = { claim: "#6b7686", source: "#2f6fd0", expert: "#b5561c", topic: "#6a4fb0" };
  var VERDICT_FILL = {
    "accurate": "#17663a", "mostly-accurate": "#0f5f6b", "needs-context": "#c48a00",
    "misleading": "#a13f00", "inaccurate": "#a3231a", "unsupported": "#47505e",
    "unverifiable": "#55467f", "unreviewed": "#ffffff"
  };
  var EDGE_STYLE = {
    "quoted-in": ["#2f6fd0", [4, 3]], "spoken-by": ["#c9753d", []], "origin": ["#1e8a7a", []],
    "evidence": ["#4f7fc7", []], "related": ["#7b62c9", []], "reviewed-by": ["#c9753d", [1, 3]],
    "tagged": ["#6a4fb0", [1, 3]], "derived-from": ["#a3231a", [4, 3]], "role-source": ["#2f6fd0", [1, 3]]
  };

  function setup() {
    var started = performance.now();
    var canvas = document.getElementById("kb-graph");
    var status = document.getElementById("kb-graph-status");
    var tip = document.getElementById("kb-graph-tip");
    var controls = document.getElementById("kb-graph-controls");
    if (!canvas || !status) return;
    var G = window.KB_GRAPH;
    if (!G || !G.ids) { status.textContent = "The graph data could not be loaded."; return; }
    var root = document.body.getAttribute("data-root") || "./";
    var ctx = canvas.getContext("2d");
    var DARK = window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches;
    var N = G.ids.length, E = G.edges.length / 3;
    var x = Float64Array.from(G.nodes.x), y = Float64Array.from(G.nodes.y);
    var type = Int8Array.from(G.nodes.type), verdict = Int8Array.from(G.nodes.verdict);
    var src = new Int32Array(E), dst = new Int32Array(E), etype = new Int8Array(E);
    var degree = new Float64Array(N);
    for (var e = 0; e < E; e++) {
      src[e] = G.edges[3 * e]; dst[e] = G.edges[3 * e + 1]; etype[e] = G.edges[3 * e + 2];
      degree[src[e]]++; degree[dst[e]]++;
    }
    var radius = new Float64Array(N);
    var crowd = N > 1500 ? Math.sqrt(1500 / N) : 1;  // smaller marks when there are many
    for (var i = 0; i < N; i++) radius[i] = Math.min(3 + Math.sqrt(degree[i]) * 1.1, 11) * crowd;
    var showNode = new Uint8Array(N), showEdge = new Uint8Array(E), inView = new Int32Array(E);
    var EDGE_BUDGET = 12000;
    var view = { scale: 1, ox: 0, oy: 0 }, dpr = 1, width = 0, height = 0;
    var hover = -1, selected = -1, touched = false, dirty = true;
    var order = Array.from({ length: N }, function (_, k) { return k; });
    order.sort(function (a, b) { return degree[b] - degree[a] || a - b; });

    /* Past a few hundred nodes the graph opens on a neighbourhood: the most quoted source (the
       article) or, failing that, the most connected node, and what is nearest to it, up to
       FOCUS nodes; "Show the whole graph" lifts it. */
    var FOCUS = 300, focus = null;
    var nbrs = null;
    function neighbours() {
      if (nbrs) return nbrs;
      var count = new Int32Array(N + 1);
      for (var m = 0; m < E; m++) { count[src[m] + 1]++; count[dst[m] + 1]++; }
      for (var k = 0; k < N; k++) count[k + 1] += count[k];
      var at = Int32Array.from(count.subarray(0, N)), list = new Int32Array(2 * E);
      for (m = 0; m < E; m++) { list[at[src[m]]++] = m; list[at[dst[m]]++] = m; }
      nbrs = { start: count, list: list };
      return nbrs;
    }
    function neighbourhood(center, on) {
      var got = new Uint8Array(N), queue = [center], n = 1, nb = neighbours();
      got[center] = 1;
      for (var q = 0; q < queue.length && n < FOCUS; q++) {
        var k = queue[q];
        for (var p = nb.start[k]; p < nb.start[k + 1] && n < FOCUS; p++) {
          var m = nb.list[p], other = src[m] === k ? dst[m] : src[m];
          if (got[other] || on["edge:" + G.edgeTypes[etype[m]]] === false) continue;
          if (on["node:" + G.nodeTypes[type[other]]] === false) continue;
          got[other] = 1; n++; queue.push(other);
        }
      }
      return got;
    }
    function startNode() {
      var quoted = G.edgeTypes.indexOf("quoted-in"), best = -1, most = -1, into = new Int32Array(N);
      for (var m = 0; m < E; m++) if (etype[m] === quoted) into[dst[m]]++;
      for (var k = 0; k < N; k++) if (into[k] > most) { most = into[k]; best = k; }
      return most > 0 ? best : order[0];
    }

    function nodeTypeName(k) { return G.nodeTypes[type[k]]; }
    function verdictName(k) { return verdict[k] >= 0 ? G.verdicts[verdict[k]] : null; }

    function applyFilters() {
      var on = {};
      Array.prototype.forEach.call(controls.querySelectorAll("input[type=checkbox]"), function (box) {
        on[box.name + ":" + box.value] = box.checked;
      });
      var shown = 0, links = 0;
      if (focus === null && N > FOCUS) focus = neighbourhood(startNode(), on);
      for (var k = 0; k < N; k++) {
        var v = verdictName(k);
        showNode[k] = on["node:" + nodeTypeName(k)] !== false && (!focus || focus[k]) &&
          (v === null || on["verdict:" + v] !== false) ? 1 : 0;
        shown += showNode[k];
      }
      for (var m = 0; m < E; m++) {
        showEdge[m] = showNode[src[m]] && showNode[dst[m]] &&
          on["edge:" + G.edgeTypes[etype[m]]] !== false ? 1 : 0;
        links += showEdge[m];
      }
      if (selected >= 0 && !showNode[selected]) selected = -1;
      status.textContent = "Showing " + shown + " of " + N + " nodes and " + links + " of " + E + " links.";
      var focusBox = document.getElementById("kb-graph-focus");
      if (focusBox) {
        focusBox.hidden = !focus;
        if (focus) document.getElementById("kb-graph-focus-text").textContent =
          "Showing the " + shown + " nodes nearest to " + G.nodes.label[startNode()] + ", of " + N + ".";
      }
      listShown();
      dirty = true;
    }

    /* The shown nodes as a list of links, biggest first, for screen readers and keyboards. */
    function listShown() {
      var list = document.getElementById("kb-graph-list-items");
      var rest = document.getElementById("kb-graph-list-more");
      if (!list) return;
      var frag = document.createDocumentFragment(), n = 0, total = 0;
      for (var o = 0; o < N; o++) {
        var k = order[o];
        if (!showNode[k]) continue;
        total++;
        if (n >= 300) continue;
        var li = document.createElement("li"), a = document.createElement("a");
        a.href = root + G.nodes.url[k];
        a.textContent = G.nodes.label[k] + " (" + describeKind(k) + ")";
        li.appendChild(a); frag.appendChild(li); n++;
      }
      list.textContent = "";
      list.appendChild(frag);
      if (rest) rest.textContent = total > n ? (total - n) + " more are shown on the canvas and listed on the audit page." : "";
    }
    function describeKind(k) {
      var v = verdictName(k);
      return nodeTypeName(k) + (v ? ", " + v.replace("-", " ") : "");
    }

    function resize() {
      dpr = window.devicePixelRatio || 1;
      width = canvas.clientWidth; height = canvas.clientHeight;
      canvas.width = Math.max(1, Math.round(width * dpr));
      canvas.height = Math.max(1, Math.round(height * dpr));
      dirty = true;
    }

    function fit() {
      var minX = Infinity, minY = Infinity, maxX = -Infinity, maxY = -Infinity;
      for (var k = 0; k < N; k++) {
        if (!showNode[k]) continue;
        minX = Math.min(minX, x[k]); maxX = Math.max(maxX, x[k]);
        minY = Math.min(minY, y[k]); maxY = Math.max(maxY, y[k]);
      }
      if (minX === Infinity) { minX = minY = -100; maxX = maxY = 100; }
      var w = Math.max(maxX - minX, 50), h = Math.max(maxY - minY, 50);
      view.scale = Math.min((width - 40) / w, (height - 40) / h, 3);
      view.ox = width / 2 - view.scale * (minX + maxX) / 2;
      view.oy = height / 2 - view.scale * (minY + maxY) / 2;
      dirty = true;
    }

    var SHAPE = G.nodeTypes.map(function (name) { return name; });
    function shapePath(k, r) {
      var t = SHAPE[type[k]], px = x[k], py = y[k];
      if (t === "claim") { ctx.moveTo(px + r, py); ctx.arc(px, py, r, 0, 2 * Math.PI); }
      else if (t === "expert") { ctx.moveTo(px, py - r * 1.25); ctx.lineTo(px + r * 1.25, py); ctx.lineTo(px, py + r * 1.25); ctx.lineTo(px - r * 1.25, py); ctx.closePath(); }
      else if (t === "source") { ctx.rect(px - r * 0.9, py - r * 0.9, r * 1.8, r * 1.8); }
      else { ctx.moveTo(px, py - r * 1.3); ctx.lineTo(px + r * 1.13, py + r * 0.65); ctx.lineTo(px - r * 1.13, py + r * 0.65); ctx.closePath(); }
    }

    /* Node size in world units: a few pixels on screen, growing gently as one zooms in. */
    function sizeOf(k) { return radius[k] / Math.pow(view.scale, 0.75); }

    function fillOf(k) {
      return SHAPE[type[k]] === "claim" ? VERDICT_FILL[verdictName(k) || "unreviewed"] : NODE_FILL[nodeTypeName(k)];
    }

    function draw() {
      dirty = false;
      var s = view.scale;
      ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
      ctx.clearRect(0, 0, width, height);
      ctx.setTransform(dpr * s, 0, 0, dpr * s, dpr * view.ox, dpr * view.oy);
      // Edges: only those that cross the view, and at most EDGE_BUDGET of them (an even sample)
      // so that a frame stays quick at any size; zoomed in, every one of them is drawn.
      var x0 = -view.ox / s, y0 = -view.oy / s, x1 = (width - view.ox) / s, y1 = (height - view.oy) / s;
      var n = 0;
      for (var m = 0; m < E; m++) {
        if (!showEdge[m]) continue;
        var a = src[m], b = dst[m];
        if ((x[a] < x0 && x[b] < x0) || (x[a] > x1 && x[b] > x1) ||
            (y[a] < y0 && y[b] < y0) || (y[a] > y1 && y[b] > y1)) continue;
        inView[n++] = m;
      }
      var stride = n > EDGE_BUDGET ? n / EDGE_BUDGET : 1, drawn = Math.min(n, EDGE_BUDGET);
      ctx.globalAlpha = drawn > 6000 ? 0.22 : drawn > 1500 ? 0.4 : 0.7;
      ctx.lineWidth = 1 / s;
      for (var t = 0; t < G.edgeTypes.length; t++) {
        var style = EDGE_STYLE[G.edgeTypes[t]] || ["#999", []];
        ctx.strokeStyle = style[0];
        ctx.setLineDash(s > 0.5 && drawn < 3000 ? style[1].map(function (d) { return d / s; }) : []);
        ctx.beginPath();
        for (var q = 0; q < n; q += stride) {
          var e2 = inView[Math.floor(q)];
          if (etype[e2] !== t) continue;
          ctx.moveTo(x[src[e2]], y[src[e2]]); ctx.lineTo(x[dst[e2]], y[dst[e2]]);
        }
        ctx.stroke();
      }
      ctx.setLineDash([]);
      ctx.globalAlpha = 1;
      var focus = hover >= 0 ? hover : selected;
      if (focus >= 0) {
        ctx.lineWidth = 2 / s; ctx.strokeStyle = "#1b2330";
        ctx.beginPath();
        for (var f = 0; f < E; f++) {
          if (showEdge[f] && (src[f] === focus || dst[f] === focus)) {
            ctx.moveTo(x[src[f]], y[src[f]]); ctx.lineTo(x[dst[f]], y[dst[f]]);
          }
        }
        ctx.stroke();
      }
      // nodes, grouped by fill
      var groups = {};
      for (var k = 0; k < N; k++) {
        if (!showNode[k]) continue;
        var fill = fillOf(k);
        (groups[fill] = groups[fill] || []).push(k);
      }
      ctx.lineWidth = 1 / s;
      Object.keys(groups).sort().forEach(function (fill) {
        ctx.beginPath();
        groups[fill].forEach(function (k) { shapePath(k, sizeOf(k)); });
        ctx.fillStyle = fill; ctx.fill();
        ctx.strokeStyle = fill === "#ffffff" ? "#6b7686" : "#ffffff"; ctx.stroke();
      });
      [selected, hover].forEach(function (k) {
        if (k < 0 || !showNode[k]) return;
        ctx.beginPath(); shapePath(k, sizeOf(k) + 3 / s);
        ctx.lineWidth = 2.5 / s; ctx.strokeStyle = "#1d5bb8"; ctx.stroke();
      });
      drawLabels();
    }

    function drawLabels() {
      var s = view.scale;
      ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
      ctx.font = "12px system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif";
      ctx.textBaseline = "middle";
      ctx.lineJoin = "round";
      var boxes = [], limit = Math.max(12, Math.round(width * height / 14000));
      function free(b) {
        for (var q = 0; q < boxes.length; q++) {
          var o = boxes[q];
          if (b[0] < o[2] && b[2] > o[0] && b[1] < o[3] && b[3] > o[1]) return false;
        }
        return true;
      }
      function place(k, force) {
        var sx = x[k] * s + view.ox, sy = y[k] * s + view.oy;
        if (sx < -50 || sy < -20 || sx > width + 50 || sy > height + 20) return;
        var label = G.nodes.label[k];
        if (label.length > 38) label = label.slice(0, 36) + "…";
        var r = sizeOf(k) * s + 4, w = ctx.measureText(label).width;
        var lx = sx + r;  // right of the node, or left of it where the right edge would cut it
        if (lx + w > width - 4) lx = sx - r - w;
        if (lx < 4) lx = 4;
        if (lx + w > width - 4) { label = label.slice(0, Math.max(4, Math.floor(label.length * (width - 8) / w) - 1)) + "…"; w = ctx.measureText(label).width; }
        var ly = Math.min(Math.max(sy, 10), height - 10);
        var box = [lx - 2, ly - 8, lx + w + 2, ly + 8];
        if (!force && !free(box)) return;
        boxes.push(box);
        ctx.lineWidth = 3.5; ctx.strokeStyle = DARK ? "rgba(22,27,34,0.92)" : "rgba(251,251,250,0.92)";
        ctx.strokeText(label, lx, ly);
        ctx.fillStyle = DARK ? (force ? "#ffffff" : "#dfe4ea") : (force ? "#0f1a2a" : "#2b3442");
        ctx.fillText(label, lx, ly);
      }
      [hover, selected].forEach(function (k) { if (k >= 0 && showNode[k]) place(k, true); });
      for (var o = 0; o < N && boxes.length < limit; o++) {
        var k = order[o];
        if (!showNode[k] || k === hover || k === selected) continue;
        if (sizeOf(k) * s < (SHAPE[type[k]] === "claim" ? 3.5 : 2.2)) continue;
        place(k, false);
      }
    }

    // A fixed number of force steps, spread over frames: the same input gives the same picture.
    var K = 34, step = 0;
    var steps = Math.max(40, Math.min(400, Math.round(4e6 / (N + E + 1))));
    var SKIP = G.edgeTypes.indexOf("reviewed-by");  // a hub that would pull every claim to it
    var cxAll = 0, cyAll = 0;
    for (var c0 = 0; c0 < N; c0++) { cxAll += x[c0] / N; cyAll += y[c0] / N; }
    var dx = new Float64Array(N), dy = new Float64Array(N);
    function relax() {
      var minX = Infinity, minY = Infinity, maxX = -Infinity, maxY = -Infinity, k, j;
      for (k = 0; k < N; k++) {
        minX = Math.min(minX, x[k]); maxX = Math.max(maxX, x[k]);
        minY = Math.min(minY, y[k]); maxY = Math.max(maxY, y[k]);
      }
      var cell = 2 * K, gw = Math.max(1, Math.ceil((maxX - minX) / cell) + 1);
      var gh = Math.max(1, Math.ceil((maxY - minY) / cell) + 1);
      if (gw * gh > 4 * N + 16) { cell = Math.max(maxX - minX, maxY - minY) / Math.sqrt(N) + 1; gw = Math.ceil((maxX - minX) / cell) + 1; gh = Math.ceil((maxY - minY) / cell) + 1; }
      var cells = gw * gh, start = new Int32Array(cells + 1), slot = new Int32Array(N), members = new Int32Array(N);
      for (k = 0; k < N; k++) { slot[k] = Math.floor((x[k] - minX) / cell) + gw * Math.floor((y[k] - minY) / cell); start[slot[k] + 1]++; }
      for (k = 0; k < cells; k++) start[k + 1] += start[k];
      var fillAt = Int32Array.from(start.subarray(0, cells));
      for (k = 0; k < N; k++) members[fillAt[slot[k]]++] = k;
      var K2 = K * K, reach2 = cell * cell;
      for (k = 0; k < N; k++) {
        var fx = 0, fy = 0, cx = slot[k] % gw, cy = (slot[k] - cx) / gw;
        for (var oy = -1; oy <= 1; oy++) {
          var row = cy + oy; if (row < 0 || row >= gh) continue;
          for (var ox = -1; ox <= 1; ox++) {
            var col = cx + ox; if (col < 0 || col >= gw) continue;
            var c = col + row * gw;
            for (var p = start[c]; p < start[c + 1]; p++) {
              j = members[p]; if (j === k) continue;
              var ddx = x[k] - x[j], ddy = y[k] - y[j], d2 = ddx * ddx + ddy * ddy;
              if (d2 > reach2) continue;
              if (d2 < 0.01) { ddx = ((k * 7919) % 13) - 6 || 1; ddy = ((k * 104729) % 11) - 5 || 1; d2 = ddx * ddx + ddy * ddy; }
              fx += ddx * K2 / d2; fy += ddy * K2 / d2;
            }
          }
        }
        dx[k] = fx + (cxAll - x[k]) * 0.002; dy[k] = fy + (cyAll - y[k]) * 0.002;
      }
      for (var m = 0; m < E; m++) {
        var a = src[m], b = dst[m], ex = x[a] - x[b], ey = y[a] - y[b];
        if (etype[m] === SKIP) {  // only the hub moves, to the middle of what it links to
          var hub = degree[a] >= degree[b] ? a : b, sign = hub === a ? -1 : 1;
          dx[hub] += sign * ex / degree[hub]; dy[hub] += sign * ey / degree[hub];
          continue;
        }
        var d = Math.sqrt(ex * ex + ey * ey) || 0.01;
        var f = 0.25 * (d - K) / d / Math.sqrt(Math.min(degree[a], degree[b]));
        dx[a] -= ex * f; dy[a] -= ey * f; dx[b] += ex * f; dy[b] += ey * f;
      }
      var temp = K * 2.5 * (1 - step / steps) + 0.5;
      for (k = 0; k < N; k++) {
        var len = Math.sqrt(dx[k] * dx[k] + dy[k] * dy[k]);
        if (len > temp) { dx[k] *= temp / len; dy[k] *= temp / len; }
        x[k] += dx[k]; y[k] += dy[k];
      }
      step++;
    }

    // Timings for tests and the curious: milliseconds spent laying out and drawing.
    var stats = window.KB_GRAPH_STATS = { steps: steps, done: 0, relaxMs: 0, drawMs: 0, frames: 0,
      setupMs: performance.now() - started, scriptAt: started };
    function frame() {
      var t0 = performance.now();
      if (step < steps) {
        var until = t0 + 12;
        do { relax(); } while (step < steps && performance.now() < until);
        if (!touched) fit();
        dirty = true;
      }
      var t1 = performance.now();
      if (dirty) draw();
      stats.done = step; stats.relaxMs += t1 - t0; stats.drawMs += performance.now() - t1; stats.frames++;
      if (!stats.firstFrameAt) stats.firstFrameAt = performance.now();  // ms since navigation
      window.requestAnimationFrame(frame);
    }

    function toWorld(px, py) { return [(px - view.ox) / view.scale, (py - view.oy) / view.scale]; }

    function nodeAt(px, py) {
      var w = toWorld(px, py), best = -1, bestD = Infinity;
      for (var k = 0; k < N; k++) {
        if (!showNode[k]) continue;
        var ddx = x[k] - w[0], ddy = y[k] - w[1], d2 = ddx * ddx + ddy * ddy;
        var r = sizeOf(k) + 4 / view.scale;
        if (d2 <= r * r * 1.6 && d2 < bestD) { best = k; bestD = d2; }
      }
      return best;
    }

    function describe(k) {
      var kind = nodeTypeName(k), v = verdictName(k);
      var text = kind.charAt(0).toUpperCase() + kind.slice(1) + ": " + G.nodes.label[k];
      if (v) text += " (" + G.verdictLabels[verdict[k]] + ")";
      return text;
    }

    function showTip(k, px, py) {
      if (!tip) return;
      if (k < 0) { tip.hidden = true; return; }
      tip.textContent = describe(k);
      tip.hidden = false;
      tip.style.setProperty("--tx", Math.min(px + 14, width - 240) + "px");
      tip.style.setProperty("--ty", (py + 14) + "px");
    }

    function zoom(factor, px, py) {
      var s = Math.min(Math.max(view.scale * factor, 0.01), 20);
      view.ox = px - (px - view.ox) * s / view.scale;
      view.oy = py - (py - view.oy) * s / view.scale;
      view.scale = s; touched = true; dirty = true;
    }

    var drag = null, touches = {}, pinch = null;
    function spread() {
      var ids = Object.keys(touches);
      if (ids.length < 2) return null;
      var a = touches[ids[0]], b = touches[ids[1]];
      return { d: Math.hypot(a.x - b.x, a.y - b.y) || 1, x: (a.x + b.x) / 2, y: (a.y + b.y) / 2 };
    }
    canvas.addEventListener("pointerdown", function (ev) {
      touches[ev.pointerId] = { x: ev.clientX, y: ev.clientY };
      pinch = spread();
      drag = { x: ev.clientX, y: ev.clientY, ox: view.ox, oy: view.oy, moved: !!pinch };
      canvas.setPointerCapture(ev.pointerId);
    });
    function release(ev) { delete touches[ev.pointerId]; pinch = spread(); }
    canvas.addEventListener("pointercancel", function (ev) { release(ev); drag = null; });
    canvas.addEventListener("pointermove", function (ev) {
      var rect = canvas.getBoundingClientRect(), px = ev.clientX - rect.left, py = ev.clientY - rect.top;
      if (touches[ev.pointerId]) touches[ev.pointerId] = { x: ev.clientX, y: ev.clientY };
      if (pinch) {  // two fingers: zoom about their middle
        var now = spread();
        if (now) { zoom(now.d / pinch.d, now.x - rect.left, now.y - rect.top); pinch = now; }
        return;
      }
      if (drag) {
        var mx = ev.clientX - drag.x, my = ev.clientY - drag.y;
        if (Math.abs(mx) + Math.abs(my) > 3) drag.moved = true;
        if (drag.moved) { view.ox = drag.ox + mx; view.oy = drag.oy + my; touched = true; dirty = true; }
        return;
      }
      var k = nodeAt(px, py);
      if (k !== hover) { hover = k; dirty = true; }
      canvas.style.cursor = k >= 0 ? "pointer" : "";
      showTip(k, px, py);
    });
    canvas.addEventListener("pointerup", function (ev) {
      release(ev);
      var rect = canvas.getBoundingClientRect();
      var wasDrag = !drag || drag.moved;
      if (Object.keys(touches).length) { if (drag) drag.moved = true; return; }  // a finger stays
      drag = null;
      if (wasDrag) return;
      var k = nodeAt(ev.clientX - rect.left, ev.clientY - rect.top);
      if (k >= 0) window.location.href = root + G.nodes.url[k];
    });
    canvas.addEventListener("pointerleave", function () { hover = -1; dirty = true; showTip(-1, 0, 0); });
    canvas.addEventListener("wheel", function (ev) {
      ev.preventDefault();
      var rect = canvas.getBoundingClientRect();
      zoom(Math.exp(-ev.deltaY * 0.0015), ev.clientX - rect.left, ev.clientY - rect.top);
    }, { passive: false });

    function select(k, hint) {
      selected = k;
      if (k >= 0) {
        status.textContent = describe(k) + ". " + (hint || "Press Enter to open it.");
        var s = Math.max(view.scale, 1);
        view.scale = s; view.ox = width / 2 - x[k] * s; view.oy = height / 2 - y[k] * s; touched = true;
      }
      dirty = true;
    }

    canvas.addEventListener("keydown", function (ev) {
      var handled = true, pan = 60;
      switch (ev.key) {
        case "ArrowLeft": view.ox += pan; touched = true; break;
        case "ArrowRight": view.ox -= pan; touched = true; break;
        case "ArrowUp": view.oy += pan; touched = true; break;
        case "ArrowDown": view.oy -= pan; touched = true; break;
        case "+": case "=": zoom(1.25, width / 2, height / 2); break;
        case "-": case "_": zoom(0.8, width / 2, height / 2); break;
        case "0": touched = false; fit(); break;
        case "]": case "[": {
          var at = order.indexOf(selected), dir = ev.key === "]" ? 1 : -1;
          for (var n = 0; n < N; n++) {
            at = (at + dir + N) % N;
            if (showNode[order[at]]) { select(order[at]); break; }
          }
          break;
        }
        case "Enter": if (selected >= 0) window.location.href = root + G.nodes.url[selected]; break;
        case "Escape": select(-1); break;
        default: handled = false;
      }
      if (handled) { ev.preventDefault(); dirty = true; }
    });

    if (controls) controls.addEventListener("change", function (ev) {
      if (ev.target && ev.target.type === "checkbox") applyFilters();
    });
    var finder = document.getElementById("kb-graph-find"), lastFind = -1;
    function findNext(from) {
      var words = finder.value.toLowerCase().split(/\s+/).filter(Boolean);
      if (!words.length) return false;
      var start = order.indexOf(from);
      for (var n = 1; n <= N; n++) {  // the next match, by size, after `from`
        var k = order[(start + n) % N], label = G.nodes.label[k].toLowerCase();
        if (showNode[k] && words.every(function (w) { return label.indexOf(w) !== -1; })) {
          lastFind = k; select(k, "Enter opens it; the down arrow finds the next."); return true;
        }
      }
      status.textContent = "No shown node matches “" + finder.value + "”.";
      return false;
    }
    if (finder) finder.addEventListener("keydown", function (ev) {
      if (ev.key === "Enter") {
        ev.preventDefault();
        if (lastFind < 0 && !findNext(-1)) return;
        window.location.href = root + G.nodes.url[lastFind];
      } else if (ev.key === "ArrowDown") {
        ev.preventDefault();
        findNext(lastFind);
      }
    });
    if (finder) finder.addEventListener("input", function () { lastFind = -1; findNext(-1); });
    var all = document.getElementById("kb-graph-all");
    if (all) all.addEventListener("click", function () {
      focus = false;
      applyFilters();
      touched = false; fit();
      canvas.focus();
    });
    window.addEventListener("resize", function () { resize(); if (!touched) fit(); });
    resize();
    applyFilters();
    fit();
    canvas.setAttribute("aria-label", "The knowledge graph: " + N + " nodes and " + E +
      " links. Arrow keys pan, plus and minus zoom, 0 fits, ] and [ step through nodes, Enter opens the selected node.");
    draw();  // the precomputed layout at once, in the first paint; then the force steps
    window.requestAnimationFrame(frame);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", setup);
  else setup();
})();
