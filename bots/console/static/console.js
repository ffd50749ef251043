// Live updates for the console: new tickets and state/colour changes arrive as server-sent events.
// Everything from the server is inserted with textContent, never as HTML.
(function () {
  "use strict";
  // Phones: the filters stay folded behind a button (a link to #filters, so it works without this too).
  var toggle = document.getElementById("filters-toggle");
  var filters = document.getElementById("filters");
  if (toggle && filters) {
    toggle.addEventListener("click", function (ev) {
      ev.preventDefault();
      var open = filters.classList.toggle("open");
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
    });
  }
})();

(function () {
  "use strict";
  var host = document.getElementById("tickets") || document.getElementById("ticket");
  if (!host || !window.EventSource) return;
  var ids = host.dataset.liveIds || "";
  var url = "/console/events?ids=" + encodeURIComponent(ids) + "&after=" + encodeURIComponent(host.dataset.maxId || "0");
  var status = document.getElementById("live-status");
  var source = new EventSource(url);
  source.onopen = function () { if (status) { status.textContent = "实时更新中"; status.classList.remove("off"); } };
  source.onerror = function () { if (status) { status.textContent = "连接中断，正在重连…"; status.classList.add("off"); } };

  function phoneLabel(td, text) {
    var s = document.createElement("span"); s.className = "only-phone"; s.textContent = text;
    td.insertBefore(s, td.firstChild);
  }

  function cell(label, text, href, cls) {
    var td = document.createElement("td");
    td.dataset.label = label;
    if (cls) td.className = cls;
    if (href) { var a = document.createElement("a"); a.href = href; a.textContent = text; td.appendChild(a); }
    else td.textContent = text;
    return td;
  }

  function paint(el, t) {
    el.className = el.className.replace(/\bc-\w+/g, "").trim() + " c-" + t.colour;
    var state = el.querySelector(".state"); if (state) state.textContent = t.state_label;
    var colour = el.querySelector(".colour-label"); if (colour) colour.textContent = t.colour_label;
    var dot = el.querySelector(".dot"); if (dot) dot.title = t.colour_label;
    var up = el.querySelector(".escalation"); if (up) { up.querySelector(".v").textContent = t.escalation || "—"; up.classList.toggle("none", !t.escalation); }
  }

  function newRow(t) {
    var tr = document.createElement("tr");
    tr.id = "t" + t.id;
    var link = "/console/tickets/" + t.id;
    tr.appendChild(cell("编号", "#" + t.id, link, "number"));
    var st = document.createElement("td"); st.dataset.label = "状态"; st.className = "status";
    var dot = document.createElement("span"); dot.className = "dot"; st.appendChild(dot);
    var s = document.createElement("span"); s.className = "state"; st.appendChild(s);
    st.appendChild(document.createTextNode(" "));
    var c = document.createElement("span"); c.className = "colour-label"; st.appendChild(c);
    tr.appendChild(st);
    tr.appendChild(cell("类别", t.category, null, "category"));
    tr.appendChild(cell("内容", t.text, link, "text"));
    tr.appendChild(cell("网格", t.grid, null, "grid"));
    tr.appendChild(cell("紧急", t.urgency_label, null, "urgency"));
    var up = cell("上报", "", null, "escalation");
    var v = document.createElement("span"); v.className = "v"; up.appendChild(v); phoneLabel(up, "已上报");
    tr.appendChild(up);
    tr.appendChild(cell("登记", t.created, null, "created"));
    var due = cell("应办结", t.due, null, "due"); phoneLabel(due, "应办结 "); tr.appendChild(due);
    paint(tr, t);
    tr.classList.add("flash-new");
    return tr;
  }

  var fresh = 0;
  source.addEventListener("ticket", function (ev) {
    var t = JSON.parse(ev.data);
    var el = document.getElementById("t" + t.id);
    if (el) { paint(el, t); return; }
    if (t.type !== "new") return;
    var table = document.getElementById("tickets");
    if (!table) return;
    var banner = document.getElementById("new-banner");
    if (table.dataset.prepend === "yes") {
      var tbody = table.tBodies[0];
      var empty = tbody.querySelector("tr.empty"); if (empty) empty.remove();
      tbody.insertBefore(newRow(t), tbody.firstChild);
    } else if (banner) {
      fresh += 1;
      banner.textContent = "有 " + fresh + " 条新诉求，刷新后可见";
      banner.hidden = false;
    }
  });
})();
