// Submits the authorization response form as soon as the page loads (Form Post Response Mode).
document.getElementById("form-post").submit();
