/* What every page needs besides htmx: upload progress on forms that send files, and a Chinese
   message (never a blank page) when the server or the network fails an htmx request. */
(function () {
  "use strict";

  // <form hx-encoding="multipart/form-data"> with a <progress data-upload-progress> inside.
  document.body.addEventListener("htmx:xhr:progress", function (evt) {
    var form = evt.target.closest ? evt.target.closest("form") : null;
    var bar = form && form.querySelector("progress[data-upload-progress]");
    if (!bar || !evt.detail.lengthComputable) return;
    bar.hidden = false;
    bar.value = Math.round((evt.detail.loaded / evt.detail.total) * 100);
  });

  // An action's form opens below the buttons: bring it into view (on a phone it is off-screen).
  document.body.addEventListener("htmx:afterSwap", function (evt) {
    if (evt.detail.target && evt.detail.target.id === "action-panel" && evt.detail.target.firstElementChild) {
      evt.detail.target.scrollIntoView({ block: "start" });
    }
  });

  function showProblem(target, text) {
    var box = document.getElementById("htmx-problem");
    if (!box) {
      box = document.createElement("div");
      box.id = "htmx-problem";
      box.className = "errors";
      box.setAttribute("role", "alert");
      var main = document.querySelector("main.page");
      main.insertBefore(box, main.firstChild);
    }
    box.textContent = text;
  }

  document.body.addEventListener("htmx:responseError", function (evt) {
    showProblem(evt.target, "操作未完成：服务器出错（" + evt.detail.xhr.status + "），请刷新页面后重试。");
  });
  document.body.addEventListener("htmx:sendError", function (evt) {
    showProblem(evt.target, "网络连接失败，请检查网络后重试。");
  });
})();
