# Demo data: alice, bob and carol (password "password", or SEED_PASSWORD) and two posts.
password = ENV.fetch("SEED_PASSWORD", "password")
users = %w[alice bob carol].map do |name|
  User.find_by(name: name) || User.create!(name: name, password: password)
end
[
  ["I will no longer reload the page before posting a comment",
   "Comments on this page arrive as they are written: Rails saves them and publishes them " \
   "to Centrifuge with Net::HTTP, which pushes them to every reader's browser."],
  ["Who is reading?", "The list on the right is the channel's presence: every reader's connection."],
].each do |title, body|
  Post.find_or_create_by!(title: title) { |p| p.body = body; p.user = users.first }
end
