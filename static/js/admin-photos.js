/* Photos in the admin: the lead image field's thumbnail and picker popup, the
   picker's Choose buttons, and the focal point set by clicking a photo.
   A static file because the Content-Security-Policy forbids inline scripts;
   every part has a no-JavaScript fallback (the autocomplete, the two numbers). */
"use strict";
{
    const MESSAGE = "newsroom:photo-chosen";

    // The article form: a thumbnail that follows the chosen photo, and the
    // picker opened as a popup that sends back the photo chosen in it.
    function leadImageWidget(widget) {
        const select = widget.querySelector("select");
        const link = widget.querySelector(".photo-picker-link");

        function showThumbnail(url) {
            let thumbnail = widget.querySelector(".lead-image-thumbnail");
            if (!url) {
                if (thumbnail) thumbnail.remove();
                return;
            }
            if (!thumbnail) {
                thumbnail = document.createElement("img");
                thumbnail.className = "lead-image-thumbnail";
                thumbnail.width = 160;
                thumbnail.height = 90;
                thumbnail.alt = "";
                widget.append(thumbnail);
            }
            thumbnail.src = url;
        }

        function thumbnailOf(id) {
            return id ? widget.dataset.thumbnailUrl.replace("__id__", id) : "";
        }

        // select2 announces its changes through jQuery only.
        if (window.django && window.django.jQuery) {
            window.django.jQuery(select).on("change", () => showThumbnail(thumbnailOf(select.value)));
        } else {
            select.addEventListener("change", () => showThumbnail(thumbnailOf(select.value)));
        }

        link.addEventListener("click", (event) => {
            event.preventDefault();
            const url = new URL(link.href);
            url.searchParams.set("_popup", "1");
            window.open(url, "photo_picker_" + select.id, "popup,width=1000,height=760");
        });

        window.addEventListener("message", (event) => {
            const data = event.data;
            if (event.origin !== window.location.origin || !data || data.type !== MESSAGE) return;
            if (data.field !== select.id) return;
            let option = Array.from(select.options).find((item) => item.value === String(data.id));
            if (!option) {
                option = new Option(data.label, data.id);
                select.append(option);
            }
            select.value = String(data.id);
            if (window.django && window.django.jQuery) {
                window.django.jQuery(select).trigger("change");
            } else {
                select.dispatchEvent(new Event("change"));
            }
            showThumbnail(data.thumbnail);
        });
    }

    // The picker: in a popup opened by a lead image field, Choose sets it.
    function picker(list) {
        if (!window.opener) return;
        document.querySelectorAll("[data-photo-picker-note]").forEach((note) => { note.hidden = true; });
        list.querySelectorAll(".photo-picker-choose").forEach((button) => {
            button.hidden = false;
            button.addEventListener("click", () => {
                window.opener.postMessage({
                    type: MESSAGE,
                    field: list.dataset.field,
                    id: button.dataset.imageId,
                    label: button.dataset.imageLabel,
                    thumbnail: button.dataset.thumbnail,
                }, window.location.origin);
                window.close();
            });
        });
    }

    // The image change page: a click on the photo as taken sets the focal
    // point's two numbers, which stay editable by hand.
    function focalPoint(frame) {
        const image = frame.querySelector("img");
        const marker = frame.querySelector(".focal-point-marker");
        const across = document.getElementById("id_focal_x");
        const down = document.getElementById("id_focal_y");
        if (!across || !down) return;

        function place(x, y) {
            if (Number.isNaN(x) || Number.isNaN(y) || across.value === "" || down.value === "") {
                marker.hidden = true;
                return;
            }
            marker.style.left = (x * 100) + "%";
            marker.style.top = (y * 100) + "%";
            marker.hidden = false;
        }

        function placeFromFields() {
            place(parseFloat(across.value), parseFloat(down.value));
        }

        image.addEventListener("click", (event) => {
            const box = image.getBoundingClientRect();
            const clamp = (value) => Math.min(1, Math.max(0, value));
            across.value = clamp((event.clientX - box.left) / box.width).toFixed(3);
            down.value = clamp((event.clientY - box.top) / box.height).toFixed(3);
            placeFromFields();
        });
        across.addEventListener("input", placeFromFields);
        down.addEventListener("input", placeFromFields);
        placeFromFields();
    }

    function start() {
        document.querySelectorAll(".lead-image-widget").forEach(leadImageWidget);
        document.querySelectorAll(".photo-picker").forEach(picker);
        document.querySelectorAll(".focal-point-frame").forEach(focalPoint);
    }

    if (document.readyState === "loading") {
        document.addEventListener("DOMContentLoaded", start);
    } else {
        start();
    }
}
