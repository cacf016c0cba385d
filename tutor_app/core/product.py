"""The product's name, the one word pages, mails and calendar files call it by."""

PRODUCT_NAME = "Tutorly"
