// Graphs and screenshots: upload with a progress bar, from the "Add an image" form or by
// pasting or dropping an image into the text of a block being edited. The server judges the
// file (type, size, whether it decodes); its answer, in words, is shown where the person acted.
(function () {
  "use strict";

  function csrfToken() {
    try {
      return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["x-csrftoken"] || "";
    } catch (error) {
      return "";
    }
  }

  function statusParts(container) {
    var status = container.querySelector(".upload-status");
    var progress = container.querySelector(".upload-progress");
    if (!status) {
      status = document.createElement("span");
      status.className = "upload-status";
      status.setAttribute("role", "status");
      progress = document.createElement("progress");
      progress.className = "upload-progress";
      progress.max = 100;
      progress.hidden = true;
      var holder = document.createElement("p");
      holder.className = "upload-line";
      holder.append(progress, " ", status);
      (container.querySelector(".form-actions") || container).before(holder);
    }
    return { status: status, progress: progress };
  }

  function upload(url, targetId, file, caption, container) {
    var parts = statusParts(container);
    var data = new FormData();
    data.append("image", file, file.name || "pasted-image.png");
    data.append("caption", caption || "");
    var xhr = new XMLHttpRequest();
    xhr.open("POST", url);
    xhr.setRequestHeader("X-CSRFToken", csrfToken());
    xhr.setRequestHeader("X-Requested-With", "XMLHttpRequest");
    parts.progress.hidden = false;
    parts.progress.value = 0;
    parts.status.textContent = "Uploading " + (file.name || "the image") + "…";
    xhr.upload.addEventListener("progress", function (event) {
      if (!event.lengthComputable) return;
      var percent = Math.round((event.loaded / event.total) * 100);
      parts.progress.value = percent;
      parts.progress.textContent = percent + "%";
      parts.status.textContent = "Uploading… " + percent + "%";
    });
    xhr.addEventListener("load", function () {
      parts.progress.hidden = true;
      if (xhr.status === 201) {
        var target = document.getElementById(targetId);
        if (target) {
          target.outerHTML = xhr.responseText;
          var swapped = document.getElementById(targetId);
          if (swapped && window.htmx) window.htmx.process(swapped);
        }
        parts.status.textContent = "Image added.";
        if (container.matches("form.image-upload")) container.reset();
      } else {
        parts.status.textContent = xhr.status === 413
          ? "The image is too large to send."
          : xhr.responseText || "The upload failed; try again.";
      }
    });
    xhr.addEventListener("error", function () {
      parts.progress.hidden = true;
      parts.status.textContent = "The upload did not reach the server; check the connection and try again.";
    });
    xhr.send(data);
  }

  // "Add an image": the page's one upload form, copied in for the block it was asked for.
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-do=image]");
    var block = button && button.closest(".block[id]");
    var template = document.getElementById("image-add-form");
    var live = document.getElementById("live");
    if (!block || !template || !live) return;
    event.preventDefault();
    var open = block.querySelector("form.image-upload");
    if (open) {
      open.querySelector("input[type=file]").focus();
      return;
    }
    var id = block.id, dash = id.lastIndexOf("-");
    var form = template.content.firstElementChild.cloneNode(true);
    form.action = "/incidents/" + encodeURIComponent(live.dataset.ref) + "/images/" +
      id.slice(0, dash) + "/" + id.slice(dash + 1) + "/";
    form.dataset.imagesTarget = "images-" + id;
    form.querySelectorAll("[data-id]").forEach(function (el) {
      el.id = "upload-" + id + "-" + el.dataset.id;
    });
    form.querySelectorAll("[data-for]").forEach(function (el) {
      el.htmlFor = "upload-" + id + "-" + el.dataset.for;
    });
    form.querySelectorAll("[data-describedby]").forEach(function (el) {
      el.setAttribute("aria-describedby", "upload-" + id + "-" + el.dataset.describedby);
    });
    var host = block.querySelector(".entry-text");
    if (host) host.appendChild(form); else button.after(form);
    if (!document.getElementById(form.dataset.imagesTarget)) {
      var images = document.createElement("div");
      images.className = "images";
      images.id = form.dataset.imagesTarget;
      form.before(images);
    }
    form.querySelector("input[type=file]").focus();
  });

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.matches || !form.matches("form.image-upload")) return;
    var file = form.querySelector("input[type=file]").files[0];
    if (!file) return;
    event.preventDefault();
    var caption = form.querySelector("input[name=caption]").value;
    upload(form.action, form.dataset.imagesTarget, file, caption, form);
  });

  function filesIn(transfer) {
    return transfer ? Array.prototype.filter.call(transfer.files || [], function (file) {
      return file.type.indexOf("image/") === 0 || file.type === "";
    }) : [];
  }

  function editorOf(target) {
    var form = target.closest && target.closest("form[data-images-url]");
    return form && target.matches("textarea, input[type=text]") ? form : null;
  }

  function take(event, transfer) {
    var form = editorOf(event.target);
    if (!form) return;
    var files = filesIn(transfer);
    if (!files.length) return;
    event.preventDefault();
    files.forEach(function (file) {
      upload(form.dataset.imagesUrl, form.dataset.imagesTarget, file, "", form);
    });
  }

  document.addEventListener("paste", function (event) { take(event, event.clipboardData); });
  document.addEventListener("dragover", function (event) {
    if (editorOf(event.target)) event.preventDefault();
  });
  document.addEventListener("drop", function (event) { take(event, event.dataTransfer); });
})();
