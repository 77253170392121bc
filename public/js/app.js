// The dashboard's only script beside htmx. Kept external so the Content-Security-Policy can forbid
// inline script. Two jobs: send the CSRF token with every htmx request, and drive live refresh.
(function () {
  'use strict';
  var token = function () {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute('content') : '';
  };

  document.addEventListener('htmx:config:request', function (event) {
    var ctx = event.detail && event.detail.ctx;
    if (ctx && ctx.request && ctx.request.headers) ctx.request.headers['X-CSRF-Token'] = token();
  });

  // Elements with hx-trigger="poll" refresh every 5 s (every data-poll-every-th tick for costly, slowly
  // changing regions), but only while the tab is visible: a hidden tab costs the database nothing, and
  // it catches up at once when shown again.
  var POLL_MS = 5000;
  var lastPoll = Date.now();
  var tick = 0;
  function poll() {
    lastPoll = Date.now();
    tick += 1;
    document.querySelectorAll('[hx-trigger~="poll"]').forEach(function (el) {
      var every = Number(el.getAttribute('data-poll-every')) || 1;
      // Not while an action inside it waits for its answer (a lead's retry waits for the LLM): the
      // refresh would replace the element that answer is for, and htmx drops an answer whose target is gone.
      if (tick % every === 0 && !el.closest('.htmx-request') && !el.querySelector('.htmx-request')) htmx.trigger(el, 'poll');
    });
  }
  setInterval(function () {
    if (document.visibilityState === 'visible' && Date.now() - lastPoll >= POLL_MS - 50) poll();
  }, 1000);
  document.addEventListener('visibilitychange', function () {
    if (document.visibilityState === 'visible' && Date.now() - lastPoll >= POLL_MS) poll();
  });
  window.autofollowPoll = poll;

  // A refresh that fails on the server (the database restarting) keeps what the region showed: swapping
  // the error in would replace the polling element itself and end the refreshing until a reload. The
  // next tick tries again. Answers to an operator's action still show their error.
  document.addEventListener('htmx:before:swap', function (event) {
    var ctx = event.detail && event.detail.ctx;
    if (ctx && ctx.sourceEvent && ctx.sourceEvent.type === 'poll' && ctx.response && ctx.response.status >= 500) event.preventDefault();
  });

  // <details data-remember="id"> stay open across refreshes that replace them.
  document.addEventListener('toggle', function (event) {
    var el = event.target;
    if (el.tagName === 'DETAILS' && el.dataset.remember) sessionStorage.setItem('open:' + el.dataset.remember, el.open ? '1' : '');
  }, true);
  document.addEventListener('htmx:after:swap', function () {
    document.querySelectorAll('details[data-remember]').forEach(function (el) {
      if (sessionStorage.getItem('open:' + el.dataset.remember)) el.open = true;
    });
  });
})();
