// Suggestions for airports, stations and travellers: fills the <datalist> of each input marked
// data-autocomplete="plane|train|travellers" from the lab API while the person types. A native datalist
// keeps the keyboard behaviour of the browser (arrows, Enter) and works with screen readers.
(function () {
  "use strict";
  var script = document.currentScript;
  var locations = script.dataset.locations, travellers = script.dataset.travellers;
  var timers = new WeakMap(), countries = new WeakMap();

  function fill(input, items) {
    var byValue = {};
    items.forEach(function (item) { if (item.country) byValue[item.value] = item.country; });
    countries.set(input, byValue);
    var list = document.getElementById(input.getAttribute("list"));
    list.replaceChildren();
    items.forEach(function (item) {
      var option = document.createElement("option");
      option.value = item.value;
      option.label = item.label;
      option.textContent = item.label;
      list.appendChild(option);
    });
  }

  function suggest(input) {
    var kind = input.dataset.autocomplete, q = input.value.trim();
    if (q.length < 2) { fill(input, []); return; }
    var url = kind === "travellers" ? travellers + "?q=" + encodeURIComponent(q)
      : locations + "?mode=" + kind + "&q=" + encodeURIComponent(q);
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : []; })
      .then(function (rows) {
        fill(input, rows.map(function (row) {
          if (kind === "travellers") return { value: row.user_institutional_id, label: row.name };
          if (kind === "plane") return { value: row.iata_code, label: row.label };
          return { value: row.name, label: row.label, country: row.country_code };
        }));
      })
      .catch(function () { fill(input, []); });
  }

  document.querySelectorAll("input[data-autocomplete]").forEach(function (input) {
    input.addEventListener("input", function () {
      clearTimeout(timers.get(input));
      timers.set(input, setTimeout(function () { suggest(input); }, 200));
    });
    // A station chosen from the list also sets its country code (origin_name -> origin_country_code).
    input.addEventListener("change", function () {
      var country = (countries.get(input) || {})[input.value];
      var target = input.form && input.form.elements[input.name.replace(/_name$/, "_country_code")];
      if (country && target && target !== input) target.value = country;
    });
  });
})();
