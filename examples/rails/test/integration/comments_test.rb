require "test_helper"

class CommentsTest < ActionDispatch::IntegrationTest
  setup do
    @alice = User.create!(name: "alice", password: "pw-alice")
    @bob = User.create!(name: "bob", password: "pw-bob")
    @post = Post.create!(title: "Hello", body: "World", user: @alice)
    # Ids repeat across tests (each rolls back): start with empty channels.
    [Channels.post(@post.id), Channels.replies(@alice.id), Channels.replies(@bob.id)].each do |ch|
      api.call("history_remove", { channel: ch })
    end
  end

  def log_in(user, password)
    post login_path, params: { username: user.name, password: password }
  end

  def comment(params, json: true)
    post post_comments_path(@post), params: params, headers: json ? { "Accept" => "application/json" } : {}
  end

  test "a comment is saved and published to the post's channel" do
    log_in(@bob, "pw-bob")
    comment({ text: "first!" })
    assert_response :created
    saved = Comment.last
    assert_equal ["first!", @bob], [saved.text, saved.user]
    assert_equal true, response.parsed_body["live"]
    assert_equal [{ "type" => "comment", "comment" => saved.as_live.as_json }], history("comments:post-#{@post.id}")
  end

  test "a reply notifies only the author answered" do
    log_in(@alice, "pw-alice")
    comment({ text: "what do you think?" })
    parent = Comment.last
    log_in(@bob, "pw-bob")
    comment({ text: "I agree", parent: parent.id })
    assert_response :created
    notes = history("notifications:replies##{@alice.id}")
    assert_equal [%w[reply bob I\ agree]], notes.map { |n| n.values_at("type", "from", "text") }
    assert_empty history("notifications:replies##{@bob.id}")
    log_in(@alice, "pw-alice")
    comment({ text: "me again", parent: parent.id }) # answering oneself notifies nobody
    assert_equal 1, history("notifications:replies##{@alice.id}").size
  end

  test "without JavaScript the form redirects to the post" do
    log_in(@bob, "pw-bob")
    comment({ text: "plain form" }, json: false)
    assert_redirected_to post_path(@post)
    assert_equal "plain form", Comment.last.text
  end

  test "bad comments are refused with a message" do
    other = Post.create!(title: "Other", body: "x", user: @alice)
    foreign = other.comments.create!(user: @alice, text: "elsewhere")
    log_in(@bob, "pw-bob")
    [[{ text: "  " }, "needs some text"],
     [{ text: "x" * (Comment::MAX_LENGTH + 1) }, "at most"],
     [{ text: "hi", parent: foreign.id }, "does not exist"],
     [{ text: "hi", parent: "abc" }, "does not exist"]].each do |params, want|
      comment(params)
      assert_response :bad_request
      assert_includes response.parsed_body["error"], want
    end
    assert_equal 0, @post.comments.count
    comment_path = "/posts/999/comments"
    post comment_path, params: { text: "hi" }
    assert_response :not_found
  end

  test "anonymous visitors read but must log in to comment" do
    comment({ text: "hi" })
    assert_response :unauthorized
    comment({ text: "hi" }, json: false)
    assert_redirected_to login_path(next: post_comments_path(@post))
    get post_path(@post)
    assert_response :success
    live = JSON.parse(css_select("#live").first.text)
    assert_equal ["", nil, "comments:post-#{@post.id}"], live.values_at("user", "replies", "channel")
    claims, = JWT.decode(live["token"], CENTRIFUGE.secret, true, algorithm: "HS256")
    assert_equal ["", { "name" => "anonymous" }], claims.values_at("sub", "info")
  end

  test "a failed publish keeps the comment and says so" do
    closed = TCPServer.new("127.0.0.1", 0).tap { |s| @port = s.addr[1] }.close
    address = Rails.application.config.x.centrifuge.address
    Rails.application.config.x.centrifuge.address = "http://127.0.0.1:#{@port}"
    log_in(@bob, "pw-bob")
    comment({ text: "saved anyway" })
    assert_response :created
    assert_equal false, response.parsed_body["live"]
    comment({ text: "form" }, json: false)
    follow_redirect!
    assert_includes response.body, "other readers will see it when they reload"
    assert_equal 2, Comment.count
    assert_nil closed
  ensure
    Rails.application.config.x.centrifuge.address = address
  end

  test "the page gives each user their channels and a token for them" do
    log_in(@bob, "pw-bob")
    get post_path(@post)
    live = JSON.parse(css_select("#live").first.text)
    assert_equal "notifications:replies##{@bob.id}", live["replies"]
    assert_equal "#{CENTRIFUGE.url.sub('http', 'ws')}/connection/rails/websocket", live["endpoint"]
    assert_select "script[src='/static/centrifuge.js']"
    get centrifuge_token_path
    claims, = JWT.decode(response.parsed_body["token"], CENTRIFUGE.secret, true, algorithm: "HS256")
    assert_equal [@bob.id.to_s, { "name" => "bob" }], claims.values_at("sub", "info")
    assert_operator claims["exp"], :>, Time.now.to_i
  end
end

class SessionsTest < ActionDispatch::IntegrationTest
  setup { @carol = User.create!(name: "carol", password: "pw-carol") }

  test "log in and out" do
    post login_path, params: { username: "carol", password: "pw-carol", next: "/posts" }
    assert_redirected_to "/posts"
    delete logout_path
    assert_redirected_to root_path
  end

  test "wrong passwords, deactivated users and foreign redirects are refused" do
    post login_path, params: { username: "carol", password: "nope" }
    assert_response :unprocessable_entity
    post login_path, params: { username: "carol", password: "pw-carol", next: "//evil.example/" }
    assert_redirected_to root_path
    @carol.update!(active: false)
    post login_path, params: { username: "carol", password: "pw-carol" }
    assert_response :unprocessable_entity
  end
end
