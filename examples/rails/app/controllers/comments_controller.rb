class CommentsController < ApplicationController
  before_action :require_login

  def create
    post = Post.find(params[:post_id])
    comment = post.comments.new(user: current_user, text: params[:text].to_s.strip)
    if params[:parent].present?
      comment.parent = post.comments.find_by(id: params[:parent].to_s[/\A\d+\z/])
      comment.errors.add(:parent, "does not exist on this post") unless comment.parent
    end
    if comment.errors.empty? && comment.save
      live = publish(post, comment)
      respond_to do |format|
        format.json { render json: { comment: comment.as_live, live: live }, status: :created }
        format.any do
          flash[:warning] = "Your comment is saved; other readers will see it when they reload." unless live
          redirect_to post_path(post)
        end
      end
    else
      message = comment.errors.map { |e| e.attribute == :base ? e.message : "The #{e.attribute} #{e.message}." }.join(" ")
      respond_to do |format|
        format.json { render json: { error: message }, status: :bad_request }
        format.any do
          flash[:error] = message
          redirect_to post_path(post)
        end
      end
    end
  end

  private

  # One batch: the post's channel and, for a reply to someone else, a
  # notification to the author answered. A failure is logged and reported:
  # the comment is saved anyway.
  def publish(post, comment)
    commands = [{ publish: { channel: Channels.post(post.id), data: { type: "comment", comment: comment.as_live } } }]
    parent = comment.parent
    if parent && parent.user_id != comment.user_id
      commands << { publish: { channel: Channels.replies(parent.user_id), data: {
        type: "reply", post: post.id, post_title: post.title, from: current_user.name,
        text: comment.text, comment: comment.id,
      } } }
    end
    centrifuge.batch(commands)
    true
  rescue CentrifugeApi::Error => e
    logger.error("publishing comment #{comment.id} failed: #{e.message}")
    false
  end
end
