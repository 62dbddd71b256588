# No Bundler: the gems are Debian's packages (ruby-rails, ruby-jwt, ruby-sqlite3,
# ruby-webrick), which rubygems activates by name. See README.md.
ENV["RAILS_ENV"] ||= "development"
require "pathname" # what Bundler would have loaded; the rails command needs it
