// Completions under the search box: the ARIA combobox pattern over
// GET /api/suggest.  The form works without this script; the script only
// adds the list, so it sets every ARIA attribute itself.
(function () {
  "use strict";
  var input = document.querySelector("input[data-suggest]");
  if (!input || !window.fetch) return;
  var form = input.form;
  var url = input.getAttribute("data-suggest");
  var list = document.createElement("ul");
  list.id = input.id + "-suggestions";
  list.className = "suggestions";
  list.setAttribute("role", "listbox");
  list.setAttribute("aria-label", "اقتراحات البحث");
  list.hidden = true;
  input.parentNode.appendChild(list);
  input.setAttribute("role", "combobox");
  input.setAttribute("aria-autocomplete", "list");
  input.setAttribute("aria-controls", list.id);
  input.setAttribute("aria-expanded", "false");

  var active = -1;
  var pending = null;
  var timer = 0;
  var numbers = new Intl.NumberFormat("ar-EG");

  function options() { return list.querySelectorAll("[role=option]"); }

  function close() {
    list.hidden = true;
    list.textContent = "";
    active = -1;
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
  }

  function highlight(index) {
    var all = options();
    if (!all.length) return;
    active = (index + all.length) % all.length;
    for (var i = 0; i < all.length; i++) {
      all[i].setAttribute("aria-selected", i === active ? "true" : "false");
    }
    input.setAttribute("aria-activedescendant", all[active].id);
  }

  function choose(text) {
    input.value = text;
    close();
    if (form.requestSubmit) form.requestSubmit(); else form.submit();
  }

  function show(query, suggestions) {
    if (query !== input.value) return;  // an answer to an older keystroke
    close();
    suggestions.forEach(function (s, i) {
      var li = document.createElement("li");
      li.id = list.id + "-" + i;
      li.setAttribute("role", "option");
      li.setAttribute("aria-selected", "false");
      li.setAttribute("data-value", s.text);
      var text = document.createElement("span");
      text.className = "suggestion-text";
      text.textContent = s.text;
      var count = document.createElement("span");
      count.className = "suggestion-count";
      count.textContent = numbers.format(s.count);
      li.appendChild(text);
      li.appendChild(count);
      // mousedown, not click: the box keeps its focus (blur would close the list).
      li.addEventListener("mousedown", function (e) { e.preventDefault(); choose(s.text); });
      list.appendChild(li);
    });
    if (suggestions.length) {
      list.hidden = false;
      input.setAttribute("aria-expanded", "true");
    }
  }

  function ask() {
    var query = input.value;
    if (pending) pending.abort();
    if (!query.trim()) { close(); return; }
    pending = new AbortController();
    fetch(url + "?q=" + encodeURIComponent(query), {signal: pending.signal})
      .then(function (r) { return r.ok ? r.json() : {query: query, suggestions: []}; })
      .then(function (data) { show(query, data.suggestions || []); })
      .catch(function () {});  // aborted or offline: the box works as a plain field
  }

  input.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(ask, 60);  // one request per pause in typing, not per key
  });
  input.addEventListener("keydown", function (e) {
    var open = !list.hidden;
    if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      if (!open) return;
      e.preventDefault();
      var down = e.key === "ArrowDown";
      highlight(active < 0 ? (down ? 0 : -1) : active + (down ? 1 : -1));
    } else if (e.key === "Enter") {
      if (open && active >= 0) {
        e.preventDefault();
        choose(options()[active].getAttribute("data-value"));
      } else {
        close();  // the typed text is searched by the form itself
      }
    } else if (e.key === "Escape") {
      if (open) { e.preventDefault(); close(); }
    }
  });
  input.addEventListener("blur", close);
})();
