// The live page: fresh charts and figures every 30 seconds, without a reload.
(function () {
  'use strict';
  function refresh() {
    var t = Date.now();
    ['hour', 'day'].forEach(function (span) {
      var img = document.getElementById('chart-' + span);
      if (img) { img.src = '/console/live/' + span + '.svg?t=' + t; }
    });
    fetch('/console/live/today.json', { credentials: 'same-origin' }).then(function (r) { return r.json(); }).then(function (j) {
      document.getElementById('stamps-today').textContent = j.stamps;
      document.getElementById('rewards-today').textContent = j.rewards;
      document.getElementById('redemptions-today').textContent = j.redemptions;
    }).catch(function () { /* the next round tries again */ });
  }
  window.setInterval(refresh, 30000);
}());
