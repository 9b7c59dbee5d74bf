"""One module per resource, each with a flask-smorest Blueprint named `blp`; `create_app`
registers every module found here."""
